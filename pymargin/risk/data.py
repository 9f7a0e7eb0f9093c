"""Market data files: daily (or hourly, resampled to daily) close prices and funding rates.

The files follow the layout of ``/work/shared/data`` (see its README): one header row, an ISO date
or UTC timestamp in the first column, a ``close`` (or ``price``) column for prices, any case,
ascending unique times. The data folder is ``--data DIR``, else ``$PYMARGIN_DATA``, else
``/work/shared/data`` when it exists. Every problem with a file (missing, malformed row,
non-positive price, unsorted times) is one :class:`~pymargin.errors.UserError` naming the file and
line. Missing calendar days in a daily series are refused unless the caller asks for them to be
filled (``gaps="ffill"``: the last close carried; ``"interpolate"``: log-linear between the
neighbours, so a multi-day move is spread over its days); every fill is reported.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from pymargin.errors import UserError

DEFAULT_DATA_DIR = Path("/work/shared/data")
PRICE_COLUMNS = ("close", "price")  # the first one present is the price
GAP_POLICIES = ("refuse", "ffill", "interpolate")

# Short market names and the files that hold them (prices, funding); any other name is a path.
KNOWN_MARKETS = {
    "btc": ("btc_usd_daily.csv", "btcusdt_funding_daily.csv"),
    "eth": ("eth_usd_daily.csv", "ethusdt_funding_8h.csv"),
    "btc-1h": ("btcusdt_1h.csv", "btcusdt_funding_daily.csv"),
}


class DataError(UserError):
    """A market data file is missing or malformed."""


@dataclass(frozen=True)
class PriceSeries:
    """Daily close prices of one market: UTC days, closes (quote per base), quote volume per day."""

    name: str
    dates: np.ndarray  # datetime64[D], ascending, unique
    close: np.ndarray  # float64 > 0
    volume_quote: np.ndarray  # float64 >= 0, quote units traded that day (NaN if the file has none)
    filled: tuple = ()  # the days that were missing and were filled (datetime64[D])

    def __len__(self) -> int:
        return len(self.dates)

    def returns(self) -> np.ndarray:
        """Daily simple returns close[t]/close[t-1] - 1 (length n - 1)."""
        return self.close[1:] / self.close[:-1] - 1.0

    def last(self, days: int) -> "PriceSeries":
        """The last ``days`` days of the series."""
        return PriceSeries(self.name, self.dates[-days:], self.close[-days:], self.volume_quote[-days:],
                           tuple(d for d in self.filled if d >= self.dates[-days:][0]))


@dataclass(frozen=True)
class Source:
    """Where market data comes from and what to do with missing days: the data folder (None = the
    default), the gap policy (one of GAP_POLICIES) and a function that receives each fill report."""

    directory: str | Path | None = None
    gaps: str = "refuse"
    report: Callable[[str], None] = field(default=lambda message: None, compare=False)


def _source(source: "Source | str | Path | None") -> Source:
    return source if isinstance(source, Source) else Source(source)


def data_dir(explicit: str | Path | None = None) -> Path:
    """The data folder: ``explicit``, else $PYMARGIN_DATA, else /work/shared/data (must exist)."""
    chosen = explicit or os.environ.get("PYMARGIN_DATA") or DEFAULT_DATA_DIR
    path = Path(chosen)
    if not path.is_dir():
        raise DataError(f"data folder {path} not found: pass --data DIR or set PYMARGIN_DATA")
    return path


def resolve_market(spec: str, directory: str | Path | None = None) -> tuple[str, Path]:
    """A market argument → (name, price file): ``btc``/``eth``/``btc-1h``, ``NAME=PATH`` or a CSV path."""
    if "=" in spec:
        name, path = spec.split("=", 1)
        return name, Path(path)
    if spec.lower() in KNOWN_MARKETS:
        return spec.lower(), data_dir(directory) / KNOWN_MARKETS[spec.lower()][0]
    path = Path(spec)
    if path.suffix.lower() == ".csv" or path.exists():
        return path.stem, path
    raise DataError(f"unknown market {spec!r}: use one of {', '.join(KNOWN_MARKETS)}, NAME=FILE.csv or a CSV path")


def _read_rows(path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    try:
        with open(path, newline="") as handle:
            rows = list(csv.reader(handle))
    except FileNotFoundError:
        raise DataError(f"data file {path} not found (pass --data DIR, set PYMARGIN_DATA, or give a path)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read data file {path}: {exc}") from None
    if len(rows) < 3:
        raise DataError(f"{path}: needs a header row and at least two data rows")
    header = [h.strip().lower() for h in rows[0]]
    return header, [(i + 2, row) for i, row in enumerate(rows[1:]) if row]


def _parse_time(text: str, path: Path, line: int) -> np.datetime64:
    try:
        return np.datetime64(text.strip().rstrip("Z"), "s")
    except ValueError:
        raise DataError(f"{path} line {line}: {text!r} is not an ISO date or time") from None


def _price_column(header: list[str], path: Path) -> int:
    for name in PRICE_COLUMNS:
        if name in header:
            return header.index(name)
    raise DataError(f"{path}: no price column: name one 'close' or 'price' (header: {','.join(header)})")


def _column(header: list[str], name: str, path: Path) -> int:
    if name not in header:
        raise DataError(f"{path}: no {name!r} column (header: {','.join(header)})")
    return header.index(name)


def _parse_float(text: str, path: Path, line: int, column: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise DataError(f"{path} line {line}: {column} {text!r} is not a number") from None
    if not np.isfinite(value):
        raise DataError(f"{path} line {line}: {column} {text!r} is not finite")
    return value


def load_prices(path: str | Path, name: str | None = None, gaps: str = "refuse") -> PriceSeries:
    """Read a price CSV (``date``/``timestamp`` first, a ``close`` or ``price`` column) as daily closes.

    Sub-daily files are resampled to UTC days: the day's close is its last candle's close, the
    day's quote volume is Σ close·volume (base volume); only days with a full set of candles are
    kept. A ``volume`` column on a daily file is taken as quote volume (Yahoo's USD volume).
    Missing days: see the module docstring (``gaps`` is one of GAP_POLICIES).
    """
    path = Path(path)
    header, rows = _read_rows(path)
    i_close = _price_column(header, path)
    i_volume = header.index("volume") if "volume" in header else None
    times, closes, volumes = [], [], []
    for line, row in rows:
        if len(row) != len(header):
            raise DataError(f"{path} line {line}: {len(row)} fields, the header has {len(header)}")
        times.append(_parse_time(row[0], path, line))
        close = _parse_float(row[i_close], path, line, "close")
        if close <= 0:
            raise DataError(f"{path} line {line}: close {row[i_close]} is not positive")
        closes.append(close)
        volumes.append(_parse_float(row[i_volume], path, line, "volume") if i_volume is not None else np.nan)
    t = np.array(times, dtype="datetime64[s]")
    if np.any(np.diff(t) <= np.timedelta64(0, "s")):
        bad = int(np.argmax(np.diff(t) <= np.timedelta64(0, "s"))) + 1
        raise DataError(f"{path} line {rows[bad][0]}: times must be strictly ascending")
    close_arr, volume_arr = np.array(closes), np.array(volumes)
    step = np.median(np.diff(t)).astype("timedelta64[s]").astype(int)
    if step >= 86400:
        series = PriceSeries(name or path.stem, t.astype("datetime64[D]"), close_arr, volume_arr)
    else:
        series = _resample_daily(name or path.stem, t, close_arr, volume_arr * close_arr, step)
    return fill_gaps(series, gaps, path)


def fill_gaps(series: PriceSeries, gaps: str, path: Path | str = "") -> PriceSeries:
    """``series`` with every missing calendar day filled by ``gaps`` ("ffill" or "interpolate"), or
    unchanged if it has none; "refuse" raises DataError naming the first gap and the count."""
    if gaps not in GAP_POLICIES:
        raise DataError(f"gap policy must be one of {', '.join(GAP_POLICIES)}, got {gaps!r}")
    step = np.diff(series.dates).astype(int)
    if not np.any(step > 1):
        return series
    first = int(np.argmax(step > 1))
    missing = int((step - 1).sum())
    if gaps == "refuse":
        raise DataError(
            f"{path or series.name}: {missing} missing day(s) in the daily series, the first after "
            f"{series.dates[first]} (next: {series.dates[first + 1]}): fill them explicitly "
            "(--gaps ffill or --gaps interpolate) or fix the file"
        )
    days = np.arange(series.dates[0], series.dates[-1] + np.timedelta64(1, "D"), dtype="datetime64[D]")
    known = days.searchsorted(series.dates)
    x = np.arange(len(days), dtype=float)
    if gaps == "ffill":
        close = series.close[np.searchsorted(known, np.arange(len(days)), side="right") - 1]
    else:
        close = np.exp(np.interp(x, known.astype(float), np.log(series.close)))
    close[known] = series.close  # the known days exactly
    volume = np.full(len(days), np.nan)
    volume[known] = series.volume_quote
    filled = tuple(np.setdiff1d(days, series.dates))
    return PriceSeries(series.name, days, close, volume, filled)


def _resample_daily(name: str, t: np.ndarray, close: np.ndarray, quote_volume: np.ndarray, step_s: int) -> PriceSeries:
    days = t.astype("datetime64[D]")
    unique, first, counts = np.unique(days, return_index=True, return_counts=True)
    full = counts == 86400 // step_s
    last = first + counts - 1
    volume = np.add.reduceat(np.nan_to_num(quote_volume), first)
    return PriceSeries(name, unique[full], close[last[full]], volume[full])


def load_market(spec: str, source: "Source | str | Path | None" = None) -> PriceSeries:
    """Load a market named as in :func:`resolve_market` from ``source`` (a :class:`Source` or a
    data folder); a fill of missing days is reported through ``source.report``."""
    source = _source(source)
    name, path = resolve_market(spec, source.directory)
    series = load_prices(path, name, source.gaps)
    if series.filled:
        source.report(f"{series.name}: {len(series.filled)} missing day(s) filled by {source.gaps} "
                      f"({series.filled[0]} .. {series.filled[-1]})")
    return series


def load_funding_daily(spec: str, source: "Source | str | Path | None" = None) -> tuple[np.ndarray, np.ndarray] | None:
    """Daily total funding rate (fraction of price, longs pay when > 0) of a known market, or None.

    ``*_funding_daily.csv`` holds the mean of the day's three 8h rates (× 3 = the day's total);
    ``*_funding_8h.csv`` rates are summed per UTC day (complete days only).
    """
    if spec.lower() not in KNOWN_MARKETS:
        return None
    path = data_dir(_source(source).directory) / KNOWN_MARKETS[spec.lower()][1]
    if not path.is_file():
        return None
    header, rows = _read_rows(path)
    column = "funding_rate_mean" if "funding_rate_mean" in header else "funding_rate"
    i_rate = _column(header, column, path)
    t = np.array([_parse_time(row[0], path, line) for line, row in rows], dtype="datetime64[s]")
    rate = np.array([_parse_float(row[i_rate], path, line, column) for line, row in rows])
    if column == "funding_rate_mean":
        return t.astype("datetime64[D]"), rate * 3.0
    days = t.astype("datetime64[D]")
    unique, first, counts = np.unique(days, return_index=True, return_counts=True)
    total = np.add.reduceat(rate, first)
    return unique[counts == 3], total[counts == 3]


def align(series: list[PriceSeries]) -> tuple[np.ndarray, np.ndarray]:
    """The days common to every series and a (days, markets) matrix of their closes."""
    if not series:
        raise DataError("no markets given")
    common = series[0].dates
    for s in series[1:]:
        common = np.intersect1d(common, s.dates)
    if len(common) < 3:
        raise DataError(f"markets {', '.join(s.name for s in series)} share fewer than 3 days")
    columns = [s.close[np.searchsorted(s.dates, common)] for s in series]
    return common, np.column_stack(columns)
