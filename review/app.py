"""The review web application (Starlette): the library, the transcript page, the audio, and the
JSON endpoints the page uses to read the corrected transcript and to save corrections.

``create_app(outdir, token=..., port=...)`` builds it; ``review.cmd_review`` serves it with uvicorn
on 127.0.0.1. Everything is served from this package: no CDN, no web fonts, no remote scripts.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from capture.decode import DecodeError
from capture.outputs import TRANSCRIPT_JSON
from review import corrections, library, view
from review.listen import Listen, NotTheRecording
from review.security import TokenMiddleware

logger = logging.getLogger("tonescribe.review")

HERE = Path(__file__).resolve().parent
LOCAL_HOSTS = ("127.0.0.1", "localhost")
# The text views offered on the page, when a renderer of that name is registered.
TEXT_VIEWS = {"transcript.txt": "Plain", "transcript.jefferson.txt": "Jefferson", "transcript.gat2.txt": "GAT2"}
SEARCH_LIMIT = 500


def text_views() -> dict[str, str]:
    from capture.outputs import RENDERERS

    return {name: label for name, label in TEXT_VIEWS.items() if name in RENDERERS}


def create_app(outdir: Path, *, token: str, port: int) -> Starlette:
    outdir = Path(outdir)
    if not outdir.is_dir():
        raise FileNotFoundError(f"{outdir} is not a folder: pass the --out folder of `tonescribe process`")
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    cache = library.TranscriptCache()
    listen = Listen()

    def folder(request: Request) -> Path:
        return library.folder_of(outdir, request.path_params["rid"])

    def page(request: Request, template: str, **context) -> Response:
        context.update(token=token, outdir=str(outdir))
        return templates.TemplateResponse(request, template, context, headers={"cache-control": "no-store"})

    async def library_page(request: Request) -> Response:
        return page(request, "library.html")

    async def library_json(request: Request) -> Response:
        entries = await run_in_threadpool(library.library, outdir, cache)
        return JSONResponse({"outdir": str(outdir), "recordings": [e.__dict__ for e in entries]})

    async def search_json(request: Request) -> Response:
        hits = await run_in_threadpool(library.search, outdir, cache, request.query_params.get("q", ""),
                                       limit=SEARCH_LIMIT)
        return JSONResponse({"hits": [h.__dict__ for h in hits], "limit": SEARCH_LIMIT})

    async def transcript_page(request: Request) -> Response:
        f = folder(request)
        return page(request, "transcript.html", rid=request.path_params["rid"], name=f.name)

    def _json(value) -> bytes:
        return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()

    def _view_bytes(f: Path) -> bytes:
        def stamps() -> tuple:
            return (library.file_stamp(f / TRANSCRIPT_JSON), library.file_stamp(f / corrections.CORRECTIONS_JSON),
                    tuple(text_views()))

        def make() -> bytes:
            layer = corrections.load_layer(f)
            edits = [{"id": e.id, "op": e.op, "args": e.args, "at": e.at} for e in layer.edits[-30:]]
            model = view.view_model(cache.corrected(f), renderers=list(text_views().items()),
                                    revision=layer.revision, edits=edits)
            model["version"] = f"{layer.revision}.{key[0][0]}"
            return _json(model)

        # The files are read after their stamps are taken: if they changed meanwhile (another tab
        # saved), the stamps differ afterwards and the data is made again for the new ones.
        for _ in range(5):
            key = stamps()
            data = cache.derived("view", f, key, make)
            if stamps() == key:
                break
        return data

    async def transcript_json(request: Request) -> Response:
        data = await run_in_threadpool(_view_bytes, folder(request))
        return Response(data, media_type="application/json", headers={"cache-control": "no-store"})

    def _tracks_bytes(f: Path) -> bytes:
        return cache.derived("tracks", f, (library.file_stamp(f / TRANSCRIPT_JSON),),
                             lambda: _json(view.tracks_model(cache.original(f))))

    async def tracks_json(request: Request) -> Response:
        data = await run_in_threadpool(_tracks_bytes, folder(request))
        return Response(data, media_type="application/json", headers={"cache-control": "no-store"})

    def _version(f: Path) -> str:
        """Changes whenever the page would: a correction saved, or transcript.json written again."""
        return f"{corrections.load_layer(f).revision}.{library.file_stamp(f / TRANSCRIPT_JSON)[0]}"

    async def revision_json(request: Request) -> Response:
        f = folder(request)
        layer = await run_in_threadpool(corrections.load_layer, f)
        return JSONResponse({"revision": layer.revision, "version": await run_in_threadpool(_version, f)},
                            headers={"cache-control": "no-store"})

    async def render_text(request: Request) -> Response:
        f, name = folder(request), request.path_params["name"]
        if name not in text_views():
            return JSONResponse({"error": f"no renderer {name!r} in this install"}, status_code=404)
        from capture.outputs import RENDERERS

        def render() -> str:
            return RENDERERS[name](cache.corrected(f).transcript)

        return PlainTextResponse(await run_in_threadpool(render), headers={"cache-control": "no-store"})

    async def change(request: Request) -> Response:
        f, action = folder(request), request.path_params["action"]
        if action not in ("edit", "undo", "redo"):
            return JSONResponse({"error": f"no action {action!r}: edit, undo or redo"}, status_code=404)
        try:
            body = await request.json()
        except ValueError:
            return JSONResponse({"error": "the request body must be JSON"}, status_code=400)
        if not isinstance(body, dict):
            return JSONResponse({"error": "the request body must be a JSON object"}, status_code=400)

        def run() -> None:
            if action == "edit":
                corrections.add_edit(f, str(body.get("op")), body.get("args"), by=str(body.get("by", "")),
                                     transcript=cache.original(f))
            elif action == "undo":
                corrections.undo(f, body.get("id"))
            elif action == "redo":
                corrections.redo(f)

        try:
            await run_in_threadpool(run)
        except corrections.CorrectionError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return Response(await run_in_threadpool(_view_bytes, f), media_type="application/json")

    async def audio(request: Request) -> Response:
        f = folder(request)
        t = cache.corrected(f).transcript
        try:
            path, media = await run_in_threadpool(listen.file_for, f, t.audio)
        except NotTheRecording as exc:
            return JSONResponse({"error": str(exc)}, status_code=exc.status)
        except DecodeError as exc:
            return JSONResponse({"error": f"cannot make a playable copy: {exc}"}, status_code=415)
        return FileResponse(path, media_type=media, headers={"cache-control": "no-store"})

    async def not_found(request: Request, exc: Exception) -> Response:
        return JSONResponse({"error": str(exc)}, status_code=404)

    async def unreadable(request: Request, exc: Exception) -> Response:
        rid = request.path_params.get("rid", "")
        logger.warning("cannot read %s: %s", rid, exc)
        return JSONResponse({"error": f"cannot read {rid!r}: {exc}"}, status_code=422)

    routes = [
        Route("/", library_page),
        Route("/api/library", library_json),
        Route("/api/search", search_json),
        Route("/t/{rid:path}", transcript_page),
        Route("/api/transcript/{rid:path}/render/{name}", render_text),
        Route("/api/transcript/{rid:path}/revision", revision_json),
        Route("/api/transcript/{rid:path}/tracks", tracks_json),
        Route("/api/transcript/{rid:path}/{action:str}", change, methods=["POST"]),
        Route("/api/transcript/{rid:path}", transcript_json),
        Route("/audio/{rid:path}", audio),
        Mount("/static", app=StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    middleware = [
        Middleware(TrustedHostMiddleware, allowed_hosts=list(LOCAL_HOSTS)),
        Middleware(TokenMiddleware, token=token, port=port),
    ]
    app = Starlette(routes=routes, middleware=middleware,
                    exception_handlers={library.NotInOutdir: not_found, ValueError: unreadable,
                                        KeyError: unreadable, TypeError: unreadable})
    return app
