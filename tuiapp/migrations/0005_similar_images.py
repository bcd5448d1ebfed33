from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0004_cached_answer')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Asset',
            name='phash',
            field=fields.BigIntField(null=True),
        ),
        ops.AddField(
            model_name='Asset',
            name='q0',
            field=fields.IntField(null=True, db_index=True),
        ),
        ops.AddField(
            model_name='Asset',
            name='q1',
            field=fields.IntField(null=True, db_index=True),
        ),
        ops.AddField(
            model_name='Asset',
            name='q2',
            field=fields.IntField(null=True, db_index=True),
        ),
        ops.AddField(
            model_name='Asset',
            name='q3',
            field=fields.IntField(null=True, db_index=True),
        ),
        ops.AddField(
            model_name='Asset',
            name='duplicate_of',
            field=fields.IntField(null=True),
        ),
        ops.AddField(
            model_name='Asset',
            name='hashed',
            field=fields.BooleanField(null=True, default=False, db_index=True),
        ),
    ]
