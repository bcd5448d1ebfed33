from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.indexes import Index

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
            field=fields.IntField(null=True, db_index=True),
        ),
        ops.AddField(
            model_name='Asset',
            name='hashed',
            field=fields.BooleanField(null=True, default=False, db_index=True),
        ),
        ops.AddIndex(model_name='Asset', index=Index(fields=('q0',), name='idx_asset_q0')),
        ops.AddIndex(model_name='Asset', index=Index(fields=('q1',), name='idx_asset_q1')),
        ops.AddIndex(model_name='Asset', index=Index(fields=('q2',), name='idx_asset_q2')),
        ops.AddIndex(model_name='Asset', index=Index(fields=('q3',), name='idx_asset_q3')),
        ops.AddIndex(model_name='Asset', index=Index(fields=('hashed',), name='idx_asset_hashed')),
        ops.AddIndex(
            model_name='Asset', index=Index(fields=('duplicate_of',), name='idx_asset_duplicate_of')
        ),
    ]
