"""Video containers (``.mp4``, ``.mkv``...) decoded frame by frame with PyAV."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

from ...errors import BadInput
from ..video import one_line
from .classes import sequence_class
from .sequence import Frame, Reader, TestSequence, _Offset, _rgb_tensor


class VideoReader(Reader):
    """A container decoded with PyAV from its start, frame by frame."""

    def __init__(self, path: Path):
        self.path = path

    def frames(self, start: int, stop: int) -> Iterator[Frame]:
        import av

        with av.open(str(self.path)) as container:
            for index, frame in enumerate(container.decode(container.streams.video[0])):
                if index >= stop:
                    return
                if index >= start:
                    yield Frame(_rgb_tensor(frame.to_ndarray(format="rgb24")))


def open_video(path: Path, group: str = "", first: int = 0, count: int | None = None) -> TestSequence:
    """A container; ``first``/``count`` select a part of it (the held-out tail of a bundled clip)."""
    import av

    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise BadInput(f"{path}: has no video stream (expected a video file)")
            stream = container.streams.video[0]
            width, height = stream.codec_context.width, stream.codec_context.height
            length = stream.frames or sum(1 for _ in container.decode(stream))
            fps = float(stream.average_rate) if stream.average_rate else None
    except BadInput:
        raise
    except (av.FFmpegError, OSError, ValueError) as err:
        raise BadInput(f"{path}: cannot be decoded as video ({one_line(err)})") from None
    length = length - first if count is None else min(count, length - first)
    return TestSequence(path.stem, sequence_class(path.stem, height, group), path, width, height,
                        length, _Offset(VideoReader(path), first), fps)
