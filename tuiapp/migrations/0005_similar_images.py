from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.indexes import Index


class Together(ops.TortoiseOperation):
    """Several operations run as one: the executor copies its whole schema state before each
    operation it applies, and thirteen copies (and reloads) made a new database's first start
    peak 17 MB higher (57 MB against 40 MB); as one, they cost what one operation does."""

    def __init__(self, *operations: ops.TortoiseOperation) -> None:
        self.operations = operations

    def describe(self) -> str:
        return "; ".join(op.describe() for op in self.operations)

    def state_forward(self, app_label, state):
        # Each operation reloads the model it changed; here the model is reloaded once, after all
        # of them (each reload built the model's classes anew: 7 MB at a new database's start).
        reload = state.reload_models
        changed = []
        state.reload_models = lambda models: changed.extend(models)
        state.reload_model = lambda app, name: changed.append((app, name))
        try:
            for op in self.operations:
                op.state_forward(app_label, state)
        finally:
            del state.reload_models, state.reload_model
        reload(set(changed))

    async def database_forward(self, app_label, old_state, new_state, state_editor=None):
        for op in self.operations:
            await op.database_forward(app_label, old_state, new_state, state_editor)

    async def database_backward(self, app_label, old_state, new_state, state_editor=None):
        for op in reversed(self.operations):
            await op.database_backward(app_label, old_state, new_state, state_editor)


class Migration(migrations.Migration):
    dependencies = [('models', '0004_cached_answer')]

    initial = False

    operations = [Together(
        ops.AddField(
            model_name='Asset',
            name='phash',
            field=fields.BigIntField(null=True),
        ),
        ops.AddField(
            model_name='Asset',
            name='q0',
            field=fields.IntField(null=True),
        ),
        ops.AddField(
            model_name='Asset',
            name='q1',
            field=fields.IntField(null=True),
        ),
        ops.AddField(
            model_name='Asset',
            name='q2',
            field=fields.IntField(null=True),
        ),
        ops.AddField(
            model_name='Asset',
            name='q3',
            field=fields.IntField(null=True),
        ),
        ops.AddField(
            model_name='Asset',
            name='duplicate_of',
            field=fields.IntField(null=True),
        ),
        ops.AddField(
            model_name='Asset',
            name='hashed',
            field=fields.BooleanField(null=True, default=False),
        ),
        ops.AddIndex(model_name='Asset', index=Index(fields=('q0',), name='idx_asset_q0')),
        ops.AddIndex(model_name='Asset', index=Index(fields=('q1',), name='idx_asset_q1')),
        ops.AddIndex(model_name='Asset', index=Index(fields=('q2',), name='idx_asset_q2')),
        ops.AddIndex(model_name='Asset', index=Index(fields=('q3',), name='idx_asset_q3')),
        ops.AddIndex(model_name='Asset', index=Index(fields=('hashed',), name='idx_asset_hashed')),
        ops.AddIndex(
            model_name='Asset', index=Index(fields=('duplicate_of',), name='idx_asset_duplicate_of')
        ),
    )]
