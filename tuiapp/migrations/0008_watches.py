from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0005_similar_images')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Watch',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('owner', fields.ForeignKeyField('models.User', source_field='owner_id', null=True, db_constraint=True, to_field='id', related_name='watches', on_delete=OnDelete.CASCADE)),
                ('query', fields.TextField(unique=False)),
                ('sources', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('count', fields.IntField()),
                ('options', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('every', fields.IntField()),
                ('webhook', fields.TextField(null=True, unique=False)),
                ('paused', fields.BooleanField(default=False)),
                ('next_run_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('last_run_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_job_id', fields.IntField(null=True)),
                ('reported_job_id', fields.IntField(null=True)),
                ('last_new', fields.IntField(null=True)),
                ('last_known', fields.IntField(null=True)),
                ('total_new', fields.IntField(default=0)),
                ('runs', fields.IntField(default=0)),
                ('failures', fields.IntField(default=0)),
                ('last_error', fields.TextField(null=True, unique=False)),
                ('webhook_error', fields.TextField(null=True, unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'watch', 'app': 'models', 'indexes': [Index(fields=['paused', 'next_run_at'], name='idx_watch_due')], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Asset',
            name='item_key',
            field=fields.CharField(null=True, max_length=520),
        ),
        ops.AddIndex(
            model_name='Asset',
            index=Index(fields=['source', 'item_key'], name='idx_asset_source_item_key'),
        ),
        # Files stored before new-only existed are known by their media URL (the key a file
        # whose source gives no id of its own gets).
        ops.RunSQL(
            "UPDATE asset SET item_key = 'url:' || url WHERE item_key IS NULL AND LENGTH(url) <= 500",
            reverse_sql="SELECT 1",
        ),
        ops.AddField(
            model_name='Job',
            name='new_only',
            field=fields.BooleanField(null=True, default=False),
        ),
        ops.AddField(
            model_name='Job',
            name='watch_id',
            field=fields.IntField(null=True),
        ),
        ops.AddIndex(
            model_name='Job',
            index=Index(fields=['watch_id'], name='idx_job_watch_id'),
        ),
        ops.AddField(
            model_name='JobSource',
            name='known',
            field=fields.IntField(null=True, default=0),
        ),
    ]
