"""HTTP face of the model service: notification receivers, ``/predict``, the artifact and a health page."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from reference_runtime.images import MAX_IMAGE_BYTES, ImageSourceError, decode_data_uri
from reference_runtime.preprocess import ImageError
from reference_runtime.service import ARTIFACT_PATH, CONTROL_PATH, DATA_PATH, ModelService

log = logging.getLogger("sdm-runtime")


def problem(status: int, title: str, detail: str, kind: str = "BadRequestData") -> JSONResponse:
    """An RFC 7807 ProblemDetails answer with the NGSI-LD error type names."""
    return JSONResponse(
        {
            "type": f"https://uri.etsi.org/ngsi-ld/errors/{kind}",
            "title": title,
            "status": status,
            "detail": detail,
        },
        status_code=status,
        media_type="application/json",
    )


class RequestError(Exception):
    def __init__(self, response: JSONResponse) -> None:
        self.response = response


async def _read_body(request: Request, limit: int = MAX_IMAGE_BYTES * 2) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise RequestError(problem(413, "Payload too large", f"the body is larger than {limit} bytes"))
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise RequestError(problem(413, "Payload too large", f"the body is larger than {limit} bytes"))
    return bytes(body)


async def _json_body(request: Request) -> Any:
    try:
        return orjson.loads(await _read_body(request))
    except orjson.JSONDecodeError as err:
        raise RequestError(
            problem(400, "Invalid JSON", f"the body is not valid JSON: {err}", "InvalidRequest")
        ) from err


async def _image_from_request(request: Request) -> bytes:
    """The image of a /predict request: raw body, multipart field ``image``, or JSON ``imageDataB64``."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "multipart/form-data":
        try:
            form_parser = request.form(max_files=1, max_fields=10)
            async with form_parser as form:
                upload = form.get("image")
                if not isinstance(upload, UploadFile):
                    raise RequestError(
                        problem(400, "Missing image", "the multipart body has no file field 'image'")
                    )
                data = await upload.read(MAX_IMAGE_BYTES + 1)
        except HTTPException as err:  # Starlette's answer to a malformed multipart body
            raise RequestError(problem(400, "Invalid multipart body", str(err.detail))) from err
    elif content_type in ("application/json", "application/ld+json"):
        payload = await _json_body(request)
        encoded = payload.get("imageDataB64") if isinstance(payload, dict) else None
        if not isinstance(encoded, str):
            raise RequestError(
                problem(400, "Missing image", "the JSON body needs a string member imageDataB64")
            )
        try:
            data = decode_data_uri(encoded)
        except ImageSourceError as err:
            raise RequestError(problem(400, "Invalid image data", str(err))) from err
    elif content_type.startswith("image/") or content_type == "application/octet-stream":
        data = await _read_body(request, MAX_IMAGE_BYTES)
    else:
        raise RequestError(
            problem(
                415,
                "Unsupported media type",
                "send the image as image/*, as multipart/form-data (field 'image') or as JSON; "
                f"got {content_type or 'no content type'}",
                "InvalidRequest",
            )
        )
    if len(data) > MAX_IMAGE_BYTES:
        raise RequestError(
            problem(413, "Payload too large", f"the image is larger than {MAX_IMAGE_BYTES} bytes")
        )
    if not data:
        raise RequestError(problem(400, "Missing image", "the request carries no image"))
    return data


def create_app(service: ModelService) -> Starlette:
    async def predict(request: Request) -> Response:
        try:
            image = await _image_from_request(request)
            prediction = await asyncio.to_thread(service.classifier.predict, image)
        except RequestError as err:
            return err.response
        except ImageError as err:
            return problem(422, "Unusable image", str(err))
        return JSONResponse(
            {
                "predictedDigit": prediction.digit,
                "confidence": prediction.confidence,
                "scores": prediction.scores,
                "model": service.model_id,
                "modelVersion": service.model.get("version"),
            }
        )

    async def control(request: Request) -> Response:
        # Answer exactly 200 whatever happens: some brokers count any other status as a failed delivery.
        try:
            notification = await _json_body(request)
        except RequestError as err:
            log.warning("unreadable control notification: %s", err.response.body)
            return Response(status_code=200)
        if not isinstance(notification, dict):
            return Response(status_code=200)
        # Reading the SubscriptionQuery calls the broker back: do it after answering.
        return Response(status_code=200, background=BackgroundTask(service.handle_control, notification))

    async def data(request: Request) -> Response:
        try:
            notification = await _json_body(request)
        except RequestError as err:
            log.warning("unreadable data notification: %s", err.response.body)
            return Response(status_code=200)
        if isinstance(notification, dict):
            service.accept_data(notification)
        return Response(status_code=200)

    async def artifact(request: Request) -> Response:
        if request.path_params["name"] != service.classifier.model_path.name:
            return problem(404, "Not found", "no such artifact", "ResourceNotFound")
        return FileResponse(service.classifier.model_path, media_type="application/octet-stream")

    async def health(request: Request) -> Response:
        return JSONResponse(
            {
                "status": "ok",
                "model": service.model_id,
                "modelVersion": service.model.get("version"),
                "jobs": {
                    job.processing_id: {
                        "status": job.status,
                        "processed": job.processed,
                        "failed": job.failed,
                    }
                    for job in service.jobs.values()
                },
            }
        )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await service.start()
        try:
            yield
        finally:
            await service.stop()

    return Starlette(
        routes=[
            Route("/predict", predict, methods=["POST"]),
            Route(CONTROL_PATH, control, methods=["POST"]),
            Route(DATA_PATH, data, methods=["POST"]),
            Route(ARTIFACT_PATH + "/{name}", artifact, methods=["GET"]),
            Route("/health", health, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
