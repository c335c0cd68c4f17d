"""The synthetic recording as a Rerun ``.rrd`` file, logged with rerun-sdk the way Rerun users log robot episodes.

The streams, their times and values are those of every other format (:mod:`.timeline`, :mod:`.truth`); only the
container differs. Each stream is one entity on the user timeline ``time`` (a timestamp timeline holding each
message's header stamp; for the action, its log time), logged offline, so Rerun's own ``log_time`` spans only the
fraction of a second the writing took:

* a JPEG camera ``NAME`` -> ``/camera/NAME``, ``EncodedImage`` (``image/jpeg``); an rgb8 camera -> ``Image``
  (RGB, u8); a video camera (h264, h265, av1) -> ``VideoStream``, its codec logged once as static and one sample
  per frame (the packets of :class:`~roboflow.synth.video.PacketEncoder`); the first camera also as ``/camera/depth``, a ``DepthImage`` (u16, ``meter = 1000``) whose values are
  ten times the gray level of its frame pattern (with ``depth_max = 2550`` it converts back to that gray);
* the joint states -> ``/robot/joints``, ``Scalars`` of the joint positions, with a static ``SeriesLines``
  naming them;
* the action -> one ``Scalars`` entity per component, ``/robot/action/joint_<c>``;
* a static ``Asset3D`` at ``/robot/urdf`` (as a URDF's meshes are logged).
"""

from __future__ import annotations

import heapq
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import simplejpeg

from roboflow.errors import StorageError
from roboflow.synth import truth
from roboflow.synth.spec import SynthSpec
from roboflow.synth.timeline import Stream, StreamKind, streams, time_blocks
from roboflow.synth.video import PacketEncoder

__all__ = ["ACTION_PARENT", "DEPTH_ENTITY", "JOINTS_ENTITY", "TIMELINE", "camera_entity", "write_rrd"]

#: The user timeline every row is logged on.
TIMELINE = "time"
JOINTS_ENTITY = "/robot/joints"
ACTION_PARENT = "/robot/action"
DEPTH_ENTITY = "/camera/depth"
#: Depth units per gray level of the depth camera (millimetres, ``meter = 1000``).
DEPTH_SCALE = 10

#: (entity, archetype, count, first time, last time) of each written entity.
Written = tuple[str, str, int, int, int]


def camera_entity(name: str) -> str:
    """The entity of camera ``name``."""
    return f"/camera/{name}"


def write_rrd(path: Path, spec: SynthSpec) -> list[Written]:
    """Log the recording of ``spec`` into the new file ``path``; returns what each entity holds, in order.

    Raises:
        StorageError: rerun-sdk cannot write the file.
    """
    os.environ.setdefault("RUST_LOG", "error")
    import rerun as rr

    all_streams = streams(spec)
    loggers = [_logger(spec, stream) for stream in all_streams]
    tallies: dict[str, list[int]] = {}
    archetypes: dict[str, str] = {}
    recording = rr.RecordingStream("roboflow_synth", recording_id=f"synth-{spec.seed}")
    try:
        recording.save(path)
        recording.reset_time()
        recording.log("/robot/urdf", rr.Asset3D(contents=b"solid robot\nendsolid robot\n", media_type="model/stl"),
                      static=True)
        recording.log(JOINTS_ENTITY, rr.SeriesLines(names=[f"joint_{j}" for j in range(spec.n_joints)]), static=True)
        for camera in spec.cameras:
            if camera.kind.codec is not None:
                recording.log(camera_entity(camera.name), rr.VideoStream(codec=_video_codec(camera.kind.codec)),
                              static=True)
        for stamp, index, k in heapq.merge(*(_events(spec, stream, i) for i, stream in enumerate(all_streams))):
            recording.set_time(TIMELINE, timestamp=np.datetime64(stamp, "ns"))
            for entity, archetype in loggers[index](k, stamp):
                archetypes[entity] = type(archetype).__name__
                recording.log(entity, archetype)
                tally = tallies.setdefault(entity, [0, stamp, stamp])
                tally[0] += 1
                tally[2] = stamp
        recording.flush()
    except (RuntimeError, ValueError, OSError) as err:
        raise StorageError(f"rerun-sdk cannot write the recording: {err}", path=str(path)) from err
    finally:
        recording.disconnect()
    return [(entity, archetypes[entity], count, first, last) for entity, (count, first, last) in tallies.items()]


def _video_codec(codec: str) -> Any:
    """Rerun's ``VideoCodec`` of ``codec`` (FFmpeg's ``hevc`` is Rerun's ``H265``)."""
    import rerun as rr

    return rr.VideoCodec.H265 if codec == "hevc" else rr.VideoCodec[codec.upper()]


def _events(spec: SynthSpec, stream: Stream, index: int) -> Iterator[tuple[int, int, int]]:
    """(time on the user timeline, stream index, k) of every message of ``stream``, in order."""
    k = 0
    for stamps, logs in time_blocks(spec, stream):
        for stamp in (stamps if stream.has_header else logs).tolist():
            yield stamp, index, k
            k += 1


Logger = Callable[[int, int], list[tuple[str, Any]]]


def _logger(spec: SynthSpec, stream: Stream) -> Logger:
    """``logger(k, stamp) -> [(entity, archetype)]`` of message ``k`` of ``stream``."""
    import rerun as rr

    if stream.camera >= 0:
        camera = spec.cameras[stream.camera]
        renderer = truth.PatternRenderer(camera.width, camera.height, stream.camera)
        entity, depth = camera_entity(camera.name), stream.camera == 0
        codec = camera.kind.codec
        encoder = PacketEncoder(codec, camera.width, camera.height, stream.camera, spec.video_gop,
                                stream.count) if codec is not None else None

        def frames(k: int, _: int) -> list[tuple[str, Any]]:
            pixels = renderer.render(k)
            out: list[tuple[str, Any]]
            if encoder is not None:
                sample, key = encoder.packet(k)
                out = [(entity, rr.VideoStream.from_fields(sample=sample, is_keyframe=key))]
            elif stream.kind is StreamKind.JPEG:
                jpeg = simplejpeg.encode_jpeg(pixels, quality=spec.jpeg_quality, colorspace="RGB",
                                              colorsubsampling="420")
                out = [(entity, rr.EncodedImage(contents=jpeg, media_type="image/jpeg"))]
            else:
                out = [(entity, rr.Image(pixels))]
            if depth:
                gray = pixels.mean(axis=2).round().astype(np.uint16) * DEPTH_SCALE
                out.append((DEPTH_ENTITY, rr.DepthImage(gray, meter=1000.0)))
            return out

        return frames
    joints = np.arange(spec.n_joints)
    if stream.kind is StreamKind.JOINTS:
        return lambda k, stamp: [
            (JOINTS_ENTITY, rr.Scalars(truth.joint_position(truth.seconds(stamp, spec.start_time_ns), joints)))]
    return lambda k, stamp: [
        (f"{ACTION_PARENT}/joint_{c}", rr.Scalars([value]))
        for c, value in enumerate(truth.action(truth.seconds(stamp, spec.start_time_ns), joints).tolist())]
