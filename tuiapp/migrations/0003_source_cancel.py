from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0002_job_queue')]

    initial = False

    operations = [
        ops.AddField(
            model_name='JobSource',
            name='cancel_requested',
            field=fields.BooleanField(default=False),
        ),
    ]
