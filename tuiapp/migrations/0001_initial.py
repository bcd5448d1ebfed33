from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='User',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(unique=True, max_length=64)),
                ('token_hash', fields.CharField(unique=True, max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'user', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Job',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('owner', fields.ForeignKeyField('models.User', source_field='owner_id', null=True, db_constraint=True, to_field='id', related_name='jobs', on_delete=OnDelete.CASCADE)),
                ('query', fields.TextField(unique=False)),
                ('count', fields.IntField()),
                ('options', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('settings', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('state', fields.CharField(db_index=True, max_length=16)),
                ('error', fields.TextField(null=True, unique=False)),
                ('rerun_of', fields.IntField(null=True)),
                ('runner', fields.CharField(null=True, max_length=128)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('started_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('finished_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'job', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='JobSource',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('job', fields.ForeignKeyField('models.Job', source_field='job_id', db_constraint=True, to_field='id', related_name='sources', on_delete=OnDelete.CASCADE)),
                ('position', fields.IntField()),
                ('source', fields.CharField(max_length=64)),
                ('state', fields.CharField(max_length=16)),
                ('found', fields.IntField(default=0)),
                ('stored', fields.IntField(default=0)),
                ('failed', fields.IntField(default=0)),
                ('bytes', fields.BigIntField(default=0)),
                ('error', fields.TextField(null=True, unique=False)),
                ('error_code', fields.CharField(null=True, max_length=32)),
            ],
            options={'table': 'job_source', 'app': 'models', 'unique_together': (('job', 'source'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='MediaBlob',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('owner', fields.ForeignKeyField('models.User', source_field='owner_id', null=True, db_constraint=True, to_field='id', related_name='blobs', on_delete=OnDelete.CASCADE)),
                ('owner_key', fields.IntField()),
                ('sha256', fields.CharField(null=True, max_length=64)),
                ('size', fields.BigIntField(default=0)),
                ('mime', fields.CharField(default='application/octet-stream', max_length=128)),
                ('complete', fields.BooleanField(default=False)),
                ('runner', fields.CharField(null=True, max_length=128)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'media_blob', 'app': 'models', 'unique_together': (('owner_key', 'sha256'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Asset',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('job', fields.ForeignKeyField('models.Job', source_field='job_id', db_constraint=True, to_field='id', related_name='assets', on_delete=OnDelete.CASCADE)),
                ('owner', fields.ForeignKeyField('models.User', source_field='owner_id', null=True, db_constraint=True, to_field='id', related_name='assets', on_delete=OnDelete.CASCADE)),
                ('blob', fields.ForeignKeyField('models.MediaBlob', source_field='blob_id', db_constraint=True, to_field='id', related_name='assets', on_delete=OnDelete.RESTRICT)),
                ('source', fields.CharField(db_index=True, max_length=64)),
                ('kind', fields.CharField(max_length=16)),
                ('url', fields.TextField(unique=False)),
                ('page_url', fields.TextField(null=True, unique=False)),
                ('title', fields.TextField(null=True, unique=False)),
                ('author', fields.TextField(null=True, unique=False)),
                ('author_url', fields.TextField(null=True, unique=False)),
                ('license', fields.TextField(null=True, unique=False)),
                ('width', fields.IntField(null=True)),
                ('height', fields.IntField(null=True)),
                ('thumbnail_url', fields.TextField(null=True, unique=False)),
                ('metadata', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'asset', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='BlobChunk',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('blob', fields.ForeignKeyField('models.MediaBlob', source_field='blob_id', db_constraint=True, to_field='id', related_name='chunks', on_delete=OnDelete.CASCADE)),
                ('seq', fields.IntField()),
                ('data', fields.BinaryField()),
            ],
            options={'table': 'blob_chunk', 'app': 'models', 'unique_together': (('blob', 'seq'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
