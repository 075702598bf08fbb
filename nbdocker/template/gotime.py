"""Format times with Go reference-time layouts and with POSIX strftime directives."""

from __future__ import annotations

import calendar
import datetime

from .interpolate_error import InterpolationError


_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def as_utc(moment: datetime.datetime) -> datetime.datetime:
    """Return moment in UTC; a naive datetime is read as UTC."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=datetime.timezone.utc)
    return moment.astimezone(datetime.timezone.utc)


def _layout_chunk(layout: str, i: int) -> tuple[str, int] | None:
    """Match one element of a Go reference-time layout at layout[i:].

    Returns the element's name and length, or None where layout[i] is literal text.
    The names follow Go's time package: 2006, 01, Jan, Monday, 15, 03, PM, Z07:00 ...
    """
    rest = layout[i:]
    char = rest[0]

    def lowercase_after(length: int) -> bool:
        return rest[length:length + 1].islower() and rest[length:length + 1].isascii()

    if char == "J" and rest.startswith("Jan"):
        if rest.startswith("January"):
            return "January", 7
        return None if lowercase_after(3) else ("Jan", 3)
    if char == "M":
        if rest.startswith("Monday"):
            return "Monday", 6
        if rest.startswith("Mon") and not lowercase_after(3):
            return "Mon", 3
        if rest.startswith("MST"):
            return "MST", 3
        return None
    if char == "0":
        if rest[1:2] and rest[1] in "123456":
            return rest[:2], 2
        if rest.startswith("002"):
            return "002", 3
        return None
    if char == "1":
        return ("15", 2) if rest.startswith("15") else ("1", 1)
    if char == "2":
        return ("2006", 4) if rest.startswith("2006") else ("2", 1)
    if char == "_":
        if rest.startswith("_2") and not rest.startswith("_2006"):
            return "_2", 2
        if rest.startswith("__2"):
            return "__2", 3
        return None
    if char in "345":
        return char, 1
    if rest.startswith(("PM", "pm")):
        return rest[:2], 2
    if char in "-Z":
        for zone in ("070000", "07:00:00", "0700", "07:00", "07"):
            if rest.startswith(char + zone):
                return char + zone, len(zone) + 1
        return None
    if char in ".," and rest[1:2] and rest[1] in "09":
        end = 1
        while end < len(rest) and rest[end] == rest[1]:
            end += 1
        # A run of 0s or 9s is a fraction of a second only when no other digit follows.
        if not rest[end:end + 1].isdigit():
            return char + rest[1:end], end
    return None


def _layout_value(name: str, moment: datetime.datetime) -> str:
    hour12 = moment.hour % 12 or 12
    yearday = moment.timetuple().tm_yday
    if name[0] in ".,":
        nanoseconds = f"{moment.microsecond * 1000:09d}"[:min(len(name) - 1, 9)]
        if name[1] == "9":
            nanoseconds = nanoseconds.rstrip("0")
            return name[0] + nanoseconds if nanoseconds else ""
        return name[0] + nanoseconds
    if name[0] == "Z":
        return "Z"
    if name[0] == "-":
        return "+" + name[1:].replace("7", "0")
    return {
        "January": _MONTHS[moment.month - 1], "Jan": _MONTHS[moment.month - 1][:3],
        "1": str(moment.month), "01": f"{moment.month:02d}",
        "Monday": _WEEKDAYS[moment.weekday()], "Mon": _WEEKDAYS[moment.weekday()][:3],
        "2": str(moment.day), "_2": f"{moment.day:2d}", "02": f"{moment.day:02d}",
        "__2": f"{yearday:3d}", "002": f"{yearday:03d}",
        "15": f"{moment.hour:02d}", "3": str(hour12), "03": f"{hour12:02d}",
        "4": str(moment.minute), "04": f"{moment.minute:02d}",
        "5": str(moment.second), "05": f"{moment.second:02d}",
        "2006": f"{moment.year:04d}", "06": f"{moment.year % 100:02d}",
        "PM": "PM" if moment.hour >= 12 else "AM", "pm": "pm" if moment.hour >= 12 else "am",
        "MST": "UTC",
    }[name]


def format_go_time(moment: datetime.datetime, layout: str) -> str:
    """Format a UTC time with a Go layout such as ``2006-01-02T15:04:05Z07:00``."""
    out: list[str] = []
    index = 0
    while index < len(layout):
        chunk = _layout_chunk(layout, index)
        if chunk is None:
            out.append(layout[index])
            index += 1
            continue
        name, length = chunk
        out.append(_layout_value(name, moment))
        index += length
    return "".join(out)


def _strftime_value(directive: str, moment: datetime.datetime) -> str | None:
    weekday = moment.isoweekday() % 7  # Sunday is 0
    yearday = moment.timetuple().tm_yday
    iso_year, iso_week, iso_weekday = moment.isocalendar()
    hour12 = moment.hour % 12 or 12
    composite = {"c": "%a %b %e %H:%M:%S %Y", "D": "%m/%d/%y", "x": "%m/%d/%y",
                 "F": "%Y-%m-%d", "T": "%H:%M:%S", "X": "%H:%M:%S", "R": "%H:%M",
                 "r": "%I:%M:%S %p"}
    if directive in composite:
        return format_strftime(moment, composite[directive])
    values = {
        "a": _WEEKDAYS[moment.weekday()][:3], "A": _WEEKDAYS[moment.weekday()],
        "b": _MONTHS[moment.month - 1][:3], "h": _MONTHS[moment.month - 1][:3],
        "B": _MONTHS[moment.month - 1], "C": f"{moment.year // 100:02d}",
        "d": f"{moment.day:02d}", "e": f"{moment.day:2d}",
        "f": f"{moment.microsecond:06d}", "L": f"{moment.microsecond // 1000:03d}",
        "G": f"{iso_year:04d}", "g": f"{iso_year % 100:02d}", "V": f"{iso_week:02d}",
        "H": f"{moment.hour:02d}", "k": f"{moment.hour:2d}",
        "I": f"{hour12:02d}", "l": f"{hour12:2d}", "j": f"{yearday:03d}",
        "m": f"{moment.month:02d}", "M": f"{moment.minute:02d}", "S": f"{moment.second:02d}",
        "p": "PM" if moment.hour >= 12 else "AM", "P": "pm" if moment.hour >= 12 else "am",
        "s": str(calendar.timegm(moment.utctimetuple())),
        "u": str(iso_weekday), "w": str(weekday),
        "U": f"{(yearday + 6 - weekday) // 7:02d}",
        "W": f"{(yearday + 6 - (weekday + 6) % 7) // 7:02d}",
        "y": f"{moment.year % 100:02d}", "Y": str(moment.year),
        "z": "+0000", "Z": "UTC", "n": "\n", "t": "\t", "%": "%",
    }
    return values.get(directive)


def format_strftime(moment: datetime.datetime, template: str) -> str:
    """Format a UTC time with C strftime directives in the POSIX locale.

    Python's time.strftime is not used because its output depends on the platform and
    the process locale.
    """
    out: list[str] = []
    index = 0
    while index < len(template):
        percent = template.find("%", index)
        if percent < 0:
            out.append(template[index:])
            break
        out.append(template[index:percent])
        directive = template[percent + 1:percent + 2]
        if not directive:
            raise InterpolationError(
                f"strftime format {template!r} ends with a lone '%': write %% for a percent sign")
        value = _strftime_value(directive, moment)
        if value is None:
            raise InterpolationError(f"strftime directive '%{directive}' is not supported "
                                     f"in {template!r}; write %% for a percent sign")
        out.append(value)
        index = percent + 2
    return "".join(out)
