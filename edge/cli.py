"""The `footfall` command: count people in a video, manage models and clips.

Every `FootfallError` ends as one line on stderr and exit status 1; usage errors exit 2 (argparse).
With `--json`, stdout carries only the JSON result, so the command composes in scripts.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tqdm import tqdm

from edge import __version__
from edge.assets import AssetState, default_cache_dir, fetch, load_manifest, resolve, status
from edge.calibration import Calibration, load_calibration
from edge.city.cli import add_city_commands
from edge.config import Settings, load_settings
from edge.detect.replay import MotDetections, ReplayDetector, load_mot_detections
from edge.doctor import format_report, has_failures, run_checks
from edge.errors import AssetError, ConfigError, FootfallError
from edge.pipeline import (
    CountingPipeline,
    CountRun,
    build_counter,
    build_detector,
    build_pipeline,
    build_scheduler,
    build_tracker,
    count_source,
    model_path,
)
from edge.preflight import startup_problems
from edge.privacy.masks import MaskPainter
from edge.records import Verdict
from edge.runner import demo_settings, run_service
from edge.service_build import device_id, open_camera
from edge.site_plan import format_survey, survey_site
from edge.sources import FrameSource, open_source, prefetch
from edge.sources.sizing import first_frame_size
from edge.sources.thinning import every_nth
from edge.validation import DeviceFacts, validation_document
from edge.validation.replay import format_result, replay

logger = logging.getLogger("edge")

# Exit status for a failure the message explains (argparse uses 2 for usage errors).
EXIT_FAILURE = 1
# A validation ran and its accuracy is outside the tolerance.
EXIT_VALIDATION_FAILED = 3
# Conventional exit status after Ctrl-C (128 + SIGINT).
EXIT_INTERRUPTED = 130


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `footfall` console script."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not args.verbose:
        # FFmpeg prints its own decoder complaints to stderr; our errors already explain them.
        os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        settings = load_settings(getattr(args, "config", None))
        result: int = args.handler(args, settings)
    except FootfallError as exc:
        print(f"footfall: error: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        print("footfall: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    return result


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="footfall", description="Privacy-first people counter.")
    parser.add_argument("--version", action="version", version=f"footfall-edge {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug details to stderr")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    count = commands.add_parser("count", help="count people crossing lines and in zones of a video")
    count.add_argument("source", help="video file, image folder, or the name of a fetched clip (demo-clip)")
    count.add_argument("--calibration", required=True, type=Path, help="calibration JSON file")
    count.add_argument("--model", help="manifest name or .onnx path (default: the configured detector)")
    count.add_argument("--fps", type=_positive_float, help="frame rate to assume instead of the header's")
    count.add_argument("--threads", type=int, help="onnxruntime threads (default: every core but one)")
    count.add_argument("--json", action="store_true", help="print only a JSON object on stdout")
    count.add_argument("--every-frame", action="store_true", help="detect on every frame")
    _add_replay_options(count)
    count.set_defaults(handler=_count)

    validate = commands.add_parser(
        "validate", help="count a recorded clip and compare each line with ground truth before deployment"
    )
    validate.add_argument("source", help="video file, image folder, or the name of a fetched clip")
    validate.add_argument("--calibration", required=True, type=Path, help="calibration JSON file")
    validate.add_argument(
        "--truth",
        required=True,
        type=Path,
        help="MOT gt.txt (or a MOT folder), a CSV of crossings (line_id,direction), or JSON counts per line",
    )
    validate.add_argument("--model", help="manifest name or .onnx path (default: the configured detector)")
    validate.add_argument("--fps", type=_positive_float, help="frame rate to assume instead of the header's")
    validate.add_argument("--config", type=Path, help="TOML config file (tolerance, detector settings)")
    validate.add_argument("--json", action="store_true", help="print only a JSON object on stdout")
    validate.add_argument(
        "--every-frame", action="store_true", help="detect on every frame (no adaptive rate)"
    )
    _add_replay_options(validate)
    validate.set_defaults(handler=_validate)

    run = commands.add_parser("run", help="run the counting service (camera, counts, delivery, pages)")
    run.add_argument("--config", type=Path, help="TOML config file (default: $FOOTFALL_CONFIG)")
    run.add_argument("--duration", type=_positive_float, help="stop after this many seconds")
    run.set_defaults(handler=_run)

    demo = commands.add_parser("demo", help="run the whole service on the public demo clip")
    demo.add_argument("--duration", type=_positive_float, help="stop after this many seconds")
    demo.set_defaults(handler=_demo)

    check = commands.add_parser("check-config", help="validate settings and calibration, start nothing")
    check.add_argument("--config", type=Path, help="TOML config file (default: $FOOTFALL_CONFIG)")
    check.set_defaults(handler=_check_config)

    doctor = commands.add_parser(
        "doctor", help="check camera, model, disk, clock and broker; say what to fix"
    )
    doctor.add_argument("--config", type=Path, help="TOML config file (default: $FOOTFALL_CONFIG)")
    doctor.set_defaults(handler=_doctor)

    _add_models_commands(commands)
    site = commands.add_parser("site", help="plan the detector for a site").add_subparsers(
        required=True, metavar="ACTION"
    )
    planning = site.add_parser(
        "plan", help="suggest detector.input_size and detector.crop from the site's frames"
    )
    planning.add_argument("source", help="camera URI, video file, image folder or fetched clip")
    planning.add_argument("--calibration", required=True, type=Path, help="calibration JSON file")
    planning.add_argument("--frames", type=int, default=60, help="frames to look at (default 60)")
    planning.add_argument(
        "--every", type=_positive_float, default=1.0, help="seconds between frames (default 1)"
    )
    planning.add_argument("--fps", type=_positive_float, help="frame rate to assume instead of the header's")
    planning.add_argument("--no-crop", action="store_true", help="size the input for the whole frame")
    planning.add_argument("--config", type=Path, help="TOML config file (default: $FOOTFALL_CONFIG)")
    planning.set_defaults(handler=_site_plan)
    # City-server commands (ingest, fleet, export): registered by edge/city/cli.py.
    add_city_commands(commands)
    return parser


def _add_models_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    models = commands.add_parser("models", help="list or fetch models and clips").add_subparsers(
        required=True, metavar="ACTION"
    )
    listing = models.add_parser("list", help="show every asset, its licence, digest and presence")
    listing.add_argument("--json", action="store_true", help="print a JSON array")
    listing.set_defaults(handler=_models_list)
    fetching = models.add_parser("fetch", help="download (or copy from a mirror) and verify assets")
    fetching.add_argument("names", nargs="*", help="asset names (default: all)")
    fetching.add_argument("--mirror", type=Path, help="local folder of byte-identical copies")
    fetching.set_defaults(handler=_models_fetch)
    quantizing = models.add_parser(
        "quantize", help="build a static INT8 detector calibrated on this camera's frames (opt-in, D-017)"
    )
    quantizing.add_argument(
        "--source", help="camera URI or video to calibrate on (default: the configured camera)"
    )
    quantizing.add_argument("--frames", type=int, default=64, help="calibration frames (default 64)")
    quantizing.add_argument(
        "--every", type=_positive_float, default=2.0, help="seconds between calibration frames (default 2)"
    )
    quantizing.add_argument("--out", type=Path, help="output file (default: <cache>/<model>-int8.onnx)")
    quantizing.add_argument("--config", type=Path, help="TOML config file (default: $FOOTFALL_CONFIG)")
    quantizing.set_defaults(handler=_models_quantize)


def _add_replay_options(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--detections",
        type=Path,
        metavar="MOT_FILE",
        help="MOT det.txt or gt.txt (boxes in the source's pixels, frame 1 = the source's first) to "
        "track and count instead of running the model (no model needed); frames without rows have "
        "nobody. A file whose confidences are all 1, 0 or -1 is ground truth: rows with 0 are "
        "ignored, the others score 0.9; other files' confidences are scores, clipped to [0, 1]. "
        "The adaptive schedule still applies unless --every-frame or --every is given",
    )
    command.add_argument(
        "--every",
        type=_positive_int,
        default=1,
        metavar="N",
        help="keep frames 0, N, 2N, ... with their own times (the rate of a slower device), "
        "with or without --detections; detects on every frame kept (no adaptive schedule)",
    )


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text}")
    return value


def _counting_pipeline(
    args: argparse.Namespace, settings: Settings, calibration: Calibration, source: FrameSource
) -> tuple[CountingPipeline, Path]:
    """The pipeline for `count` and `validate`, and the file its boxes come from (model or replay).

    `source` is the source as opened (before `--every`), for its frame count and size.
    """
    scheduler = build_scheduler(settings, calibration)
    if args.detections is not None:
        if args.model is not None:
            raise ConfigError("--model and --detections exclude each other: replayed boxes need no model")
        replayed = load_mot_detections(args.detections)
        _warn_about_coverage(replayed, source)
        detector = ReplayDetector(replayed)
        stages = (
            build_tracker(settings),
            build_counter(settings, calibration),
            MaskPainter(calibration.masks),
        )
        return CountingPipeline(detector, *stages, scheduler), args.detections
    model_file = model_path(settings, args.model)
    size = first_frame_size(source)
    return build_pipeline(settings, calibration, model_file, scheduler, frame_size=size), model_file


def _warn_about_coverage(replayed: MotDetections, source: FrameSource) -> None:
    """Say so when a detections file cannot belong to the source (a wrong file counts nobody)."""
    last = replayed.last_frame_index
    if last is None:
        logger.warning("%s has no rows: nobody will be counted", replayed.path)
    elif source.frame_count is not None and last >= source.frame_count:
        logger.warning(
            "%s has rows up to MOT frame %d but %s has %d frames; rows past its end are ignored",
            replayed.path,
            last + 1,
            source.name,
            source.frame_count,
        )


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def _count(args: argparse.Namespace, settings: Settings) -> int:
    calibration = load_calibration(args.calibration)
    if args.threads is not None:
        detector = settings.detector.model_copy(update={"threads": args.threads})
        settings = settings.model_copy(update={"detector": detector})
    settings = _schedule_option(args, settings)
    source_spec = _source_spec(args.source, settings)
    with open_source(source_spec, fps=args.fps) as opened:
        pipeline, _ = _counting_pipeline(args, settings, calibration, opened)
        source = every_nth(opened, args.every)
        show_progress = not args.json and sys.stderr.isatty()
        with tqdm(total=source.frame_count, unit="frame", disable=not show_progress) as bar:
            run = count_source(prefetch(source), pipeline, calibration, on_frame=lambda: bar.update(1))
    if args.json:
        document = run_as_json(run)
        if args.every > 1:
            document["every"] = args.every
        print(json.dumps(document))
    else:
        print(_run_as_text(run, args.every))
    return 0


def _validate(args: argparse.Namespace, settings: Settings) -> int:
    calibration = load_calibration(args.calibration)
    settings = _schedule_option(args, settings)
    with open_source(_source_spec(args.source, settings), fps=args.fps) as opened:
        pipeline, model_file = _counting_pipeline(args, settings, calibration, opened)
        source = every_nth(opened, args.every)
        return _validate_with(args, settings, calibration, source, pipeline, model_file)


def _validate_with(
    args: argparse.Namespace,
    settings: Settings,
    calibration: Calibration,
    source: FrameSource,
    pipeline: CountingPipeline,
    model_file: Path,
) -> int:
    facts = DeviceFacts(
        site_id=settings.mqtt.site_id,
        device_id=device_id(settings),
        software_version=__version__,
        model_name=model_file.name,
        model_sha256=hashlib.sha256(model_file.read_bytes()).hexdigest(),
        tolerance=settings.validation.tolerance,
        min_people=settings.validation.min_people,
    )
    show_progress = not args.json and sys.stderr.isatty()
    with tqdm(total=source.frame_count, unit="frame", disable=not show_progress) as bar:
        frames = prefetch(source)
        result = replay(frames, pipeline, calibration, args.truth, facts, on_frame=lambda: bar.update(1))
    if args.json:
        document = {
            "source": result.source,
            "frames": result.frames,
            "seconds": round(result.seconds, 3),
            "accuracy": None if result.accuracy is None else round(result.accuracy, 4),
            "verdict": str(result.verdict),
            "lines": [validation_document(record) for record in result.records],
        }
        if args.every > 1:
            document["every"] = args.every
        print(json.dumps(document))
    else:
        print(format_result(result))
    return EXIT_VALIDATION_FAILED if result.verdict is Verdict.FAIL else 0


def _schedule_option(args: argparse.Namespace, settings: Settings) -> Settings:
    """`--every-frame` and `--every N` (a fixed rate is asked for) turn the adaptive schedule off."""
    if not args.every_frame and args.every == 1:
        return settings
    schedule = settings.schedule.model_copy(update={"adaptive": False})
    return settings.model_copy(update={"schedule": schedule})


def _source_spec(source: str, settings: Settings) -> str:
    """A path or URL as given, or the cached file of a clip named in the manifest."""
    if Path(source).exists() or "://" in source or ":" in source:
        return source
    known = {asset.name for asset in load_manifest()}
    if source in known:
        return str(resolve(source, cache_dir=settings.cache_dir or default_cache_dir()))
    return source


def run_as_json(run: CountRun) -> dict[str, Any]:
    """The documented JSON shape of a count run."""
    return {
        "frames": run.frames,
        "seconds": round(run.seconds, 3),
        "lines": {line.line_id: {"in": line.in_count, "out": line.out_count} for line in run.summary.lines},
        "zones": {
            zone.zone_id: {
                "peak_occupancy": zone.peak_occupancy,
                "mean_occupancy": _rounded(zone.mean_occupancy),
                "visits": zone.visits,
                "dwell_s": {
                    "mean": _rounded(zone.dwell_mean_s),
                    "median": _rounded(zone.dwell_median_s),
                    "max": _rounded(zone.dwell_max_s),
                },
            }
            for zone in run.summary.zones
        },
    }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _run_as_text(run: CountRun, every: int = 1) -> str:
    kept = f" (1 in {every})" if every > 1 else ""
    lines = [f"{run.frames} frames{kept}, {run.seconds:.1f} s of video"]
    lines += [f"line {line.line_id}: in {line.in_count}, out {line.out_count}" for line in run.summary.lines]
    for zone in run.summary.zones:
        mean = "-" if zone.mean_occupancy is None else f"{zone.mean_occupancy:.2f}"
        dwell = "" if zone.dwell_mean_s is None else f", mean dwell {zone.dwell_mean_s:.1f} s"
        lines.append(
            f"zone {zone.zone_id}: peak {zone.peak_occupancy}, mean {mean}, {zone.visits} visits{dwell}"
        )
    return "\n".join(lines)


def _models_list(args: argparse.Namespace, settings: Settings) -> int:
    cache_dir = settings.cache_dir or default_cache_dir()
    rows = []
    for asset in load_manifest():
        state = status(asset, cache_dir)
        rows.append(
            {
                "name": asset.name,
                "kind": str(asset.kind),
                "licence": asset.licence,
                "sha256": asset.sha256,
                "size_bytes": asset.size_bytes,
                "state": str(state.state),
                "path": str(state.path),
            }
        )
    if args.json:
        print(json.dumps(rows))
        return 0
    print(f"cache: {cache_dir}")
    for row in rows:
        digest = str(row["sha256"])[:16]
        print(f"{row['name']:<12} {row['kind']:<6} {row['licence']:<11} {digest}  {row['state']}")
    return 0


def _models_fetch(args: argparse.Namespace, settings: Settings) -> int:
    cache_dir = settings.cache_dir or default_cache_dir()
    mirror = args.mirror or settings.mirror
    assets = load_manifest()
    known = {asset.name: asset for asset in assets}
    unknown = [name for name in args.names if name not in known]
    if unknown:
        raise FootfallError(f"unknown asset {unknown[0]!r}; known: {', '.join(sorted(known))}")
    for asset in [known[name] for name in args.names] or list(assets):
        was_present = status(asset, cache_dir).state is AssetState.PRESENT
        try:
            path = fetch(asset, cache_dir=cache_dir, mirror=mirror)
        except AssetError as exc:
            if mirror is not None or not str(exc).startswith("cannot download"):
                raise
            raise AssetError(
                f"{exc}; without internet, copy the files onto the device and use "
                "`footfall models fetch --mirror DIR` or FOOTFALL_MIRROR=DIR"
            ) from exc
        verb = "already present" if was_present else "fetched"
        print(f"{asset.name}: {verb}, sha256 verified: {path}", file=sys.stderr)
    return 0


def _models_quantize(args: argparse.Namespace, settings: Settings) -> int:
    # onnx and onnxruntime.quantization (tens of MB) load only for this command, never in the service.
    from edge.detect.quantize import quantize_model, sample_frames  # noqa: PLC0415

    fp32 = model_path(settings)
    out = args.out or (settings.cache_dir or default_cache_dir()) / f"{fp32.stem}-int8.onnx"
    camera = open_source(_source_spec(args.source, settings)) if args.source else open_camera(settings)
    print(f"sampling {args.frames} frames, one every {args.every:g} s, from {camera.name}", file=sys.stderr)
    with camera:
        # Frames stay in memory: only the model (weights and value ranges) is written.
        frames = sample_frames(camera, args.frames, args.every)
    report = quantize_model(fp32, frames, out)
    print(
        f"{report.out_path}: INT8 from {report.frames} frames, {len(report.float_nodes)} nodes in float. "
        f"Check it with `footfall validate ... --model {report.out_path}` before setting detector.model.",
        file=sys.stderr,
    )
    return 0


def _site_plan(args: argparse.Namespace, settings: Settings) -> int:
    calibration = load_calibration(args.calibration)
    # People are measured at the model's own size on the whole frame, whatever is configured now.
    detector = settings.detector.model_copy(update={"input_size": None, "crop": None})
    detector_at_full_frame = build_detector(
        settings.model_copy(update={"detector": detector}), model_path(settings)
    )
    with open_source(_source_spec(args.source, settings), fps=args.fps) as source:
        survey = survey_site(
            source,
            detector_at_full_frame,
            calibration,
            frames=args.frames,
            every_s=args.every,
            crop=not args.no_crop,
        )
    print(format_survey(survey))
    return 0


def _run(args: argparse.Namespace, settings: Settings) -> int:
    run_service(settings, duration_s=args.duration)
    return 0


def _demo(args: argparse.Namespace, settings: Settings) -> int:
    run_service(demo_settings(settings), duration_s=args.duration)
    return 0


def _doctor(args: argparse.Namespace, settings: Settings) -> int:
    checks = run_checks(settings)
    print(format_report(checks))
    return EXIT_FAILURE if has_failures(checks) else 0


def _check_config(args: argparse.Namespace, settings: Settings) -> int:
    # The very checks `run` makes before it starts (edge.preflight), each problem on its own line;
    # a missing camera file fails here too, though `run` starts and waits for it.
    problems = startup_problems(settings)
    for problem in problems:
        print(f"footfall: error: {problem.message}", file=sys.stderr)
    if problems:
        return EXIT_FAILURE
    calibration = load_calibration(settings.calibration)
    model = model_path(settings)
    print(
        f"settings valid; calibration {settings.calibration}: {len(calibration.lines)} lines, "
        f"{len(calibration.zones)} zones; model {model}; camera {settings.source.uri}; "
        f"MQTT {'on: ' + settings.mqtt.host if settings.mqtt.enabled else 'off (outbox only)'}"
    )
    return 0
