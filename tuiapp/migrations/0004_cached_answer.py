from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0003_source_cancel')]

    initial = False

    operations = [
        ops.CreateModel(
            name='CachedAnswer',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('source', fields.CharField(max_length=64)),
                ('key', fields.CharField(max_length=64)),
                ('value', fields.TextField(unique=False)),
                ('stored_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'cached_answer', 'app': 'models', 'unique_together': (('source', 'key'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
