"""Routes over jobs: submit, list, get, cancel, rerun, delete."""

from __future__ import annotations

from aiohttp import hdrs, web

from tuiapp.api_types import CancelRequest, JobRequest
from tuiapp.errors import InvalidRequestError
from tuiapp.jobs import JobInfo, JobState
from tuiapp.server.common import ENGINE_KEY, PAGING, id_param, owner, paging, path_id, read_body
from tuiapp.server.routing import Param, Reply, RouteTable
from tuiapp.server.shapes import JobList, job_view

__all__ = ["table"]

table = RouteTable()

_JOB_ID = id_param("job")
_ACCEPTED = Reply("The job, queued; `Location` is its URL.", JobInfo, headers={"Location": str})


def _accepted(info: JobInfo) -> web.Response:
    body = job_view(info)
    return web.json_response(body, status=202, headers={hdrs.LOCATION: body["href"]})


@table.route(
    "POST",
    "/api/jobs",
    name="submitJob",
    summary="Start a job",
    body=JobRequest,
    replies={202: _ACCEPTED},
    errors=(400,),
)
async def submit_job(request: web.Request) -> web.Response:
    caller = await owner(request)
    job = await read_body(request, JobRequest)
    return _accepted(await request.app[ENGINE_KEY].submit(job.spec(), caller))


@table.route(
    "GET",
    "/api/jobs",
    name="listJobs",
    summary="The caller's jobs, newest first",
    params=(
        Param(
            "state", "query", list[JobState], "Only jobs in these states (repeat it for several)."
        ),
        Param(
            "text",
            "query",
            str,
            "Words each found in the query, the state or a source's name (any case),"
            " or the job's id.",
        ),
        *PAGING,
    ),
    replies={200: Reply("A page of jobs.", JobList)},
    errors=(400,),
)
async def list_jobs(request: web.Request) -> web.Response:
    caller = await owner(request)
    limit, offset = paging(request)
    states: list[JobState] = []
    for name in request.query.getall("state", []):
        try:
            states.append(JobState(name))
        except ValueError:
            raise InvalidRequestError(
                f"state must be one of {', '.join(JobState)}, not {name!r:.40}"
            ) from None
    infos = await request.app[ENGINE_KEY].list_jobs(
        caller,
        states=tuple(states),
        text=request.query.get("text") or None,
        limit=limit,
        offset=offset,
    )
    return web.json_response(
        {"jobs": [job_view(i) for i in infos], "limit": limit, "offset": offset}
    )


@table.route(
    "GET",
    "/api/jobs/{id}",
    name="getJob",
    summary="A job, with the state of each of its sources",
    params=(_JOB_ID,),
    replies={200: Reply("The job.", JobInfo)},
    errors=(400, 404),
)
async def get_job(request: web.Request) -> web.Response:
    job_id = path_id(request, "job")
    caller = await owner(request)
    return web.json_response(job_view(await request.app[ENGINE_KEY].get_job(job_id, caller)))


@table.route(
    "POST",
    "/api/jobs/{id}/cancel",
    name="cancelJob",
    summary="Cancel a running job, or one of its sources",
    params=(_JOB_ID,),
    body=CancelRequest,
    body_required=False,
    replies={202: Reply("Cancelling; the job ends `cancelled`.", JobInfo)},
    errors=(400, 404),
)
async def cancel_job(request: web.Request) -> web.Response:
    job_id = path_id(request, "job")
    caller = await owner(request)
    source = (await read_body(request, CancelRequest, optional=True)).source
    info = await request.app[ENGINE_KEY].cancel(job_id, caller, source)
    return web.json_response(job_view(info), status=202)


@table.route(
    "POST",
    "/api/jobs/{id}/rerun",
    name="rerunJob",
    summary="Run a job again as a new job",
    params=(_JOB_ID,),
    replies={202: _ACCEPTED},
    errors=(400, 404),
)
async def rerun_job(request: web.Request) -> web.Response:
    job_id = path_id(request, "job")
    caller = await owner(request)
    return _accepted(await request.app[ENGINE_KEY].rerun(job_id, caller))


@table.route(
    "DELETE",
    "/api/jobs/{id}",
    name="deleteJob",
    summary="Delete a job and its files (a running job is cancelled first)",
    params=(_JOB_ID,),
    replies={204: Reply("Deleted.")},
    errors=(400, 404),
)
async def delete_job(request: web.Request) -> web.Response:
    job_id = path_id(request, "job")
    caller = await owner(request)
    await request.app[ENGINE_KEY].delete_job(job_id, caller)
    return web.Response(status=204)
