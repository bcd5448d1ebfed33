from __future__ import annotations
from tests.images import jpeg
from tests.replay import Reply, json_reply
from tuiapp.jobs import JobSpec, JobState

async def test_picsum_end_to_end(replay, engine_factory):
    items = [{"id": str(i), "author": f"A{i}", "width": 1000, "height": 500, "url": f"https://unsplash.com/x{i}", "download_url": "x"} for i in range(40)]
    replay.add("/v2/list", json_reply(items[:30]))
    for i in range(40):
        replay.add(f"/id/{i}/1000/500.jpg", Reply(jpeg(seed=i), content_type="image/jpeg"))
    engine = await engine_factory(base_urls={"picsum": replay.url()})
    job = await engine.submit(JobSpec(query="cats", sources=("picsum",), count=5))
    final = await engine.wait(job.id, None)
    print(final)
    assert final.state is JobState.DONE
    assert final.stored == 5
    assets = await engine.list_assets(None, job_id=job.id)
    assert len(assets) == 5
    print(await engine.integrity_report())
