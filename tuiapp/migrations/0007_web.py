from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0006_library_search')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Thumbnail',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('blob', fields.OneToOneField('models.MediaBlob', source_field='blob_id', db_constraint=True, to_field='id', related_name='thumbnail', on_delete=OnDelete.CASCADE)),
                ('mime', fields.CharField(max_length=32)),
                ('width', fields.IntField()),
                ('height', fields.IntField()),
                ('data', fields.BinaryField()),
            ],
            options={'table': 'thumbnail', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A stored picture made small (longest side 320 px), once per blob.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='WebSession',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('key_hash', fields.CharField(unique=True, max_length=64)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='web_sessions', on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('expires_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'web_session', 'app': 'models', 'pk_attr': 'id', 'table_description': "A browser signed in as a user: the sha256 of its cookie's value (never the value)."},
            bases=['Model'],
        ),
    ]
