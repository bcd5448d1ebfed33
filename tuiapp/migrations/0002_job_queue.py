from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0001_initial')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Job',
            name='cancel_requested',
            field=fields.BooleanField(default=False),
        ),
        ops.AddField(
            model_name='Job',
            name='claims',
            field=fields.IntField(default=0),
        ),
        ops.AddField(
            model_name='Job',
            name='lease_until',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
    ]
