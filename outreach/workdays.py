"""Working days in England and Wales: bank holidays computed by rule, and the follow-up arithmetic built on them.

The rules and the one-off changes follow gov.uk's published lists ("UK bank holidays",
https://www.gov.uk/bank-holidays, and its JSON feed https://www.gov.uk/bank-holidays.json) and the Banking and
Financial Dealings Act 1971 with the royal proclamations that move or add a day. Computing them (rather than copying a
list) keeps follow-ups right in years no list was copied for; a new one-off day is one line in ONE_OFF_CHANGES.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

UK_TIME = ZoneInfo("Europe/London")
MONDAY, FRIDAY, SATURDAY, SUNDAY = 0, 4, 5, 6

# Royal proclamations that moved a regular bank holiday: (year, rule) -> the day it fell on instead.
MOVED: dict[tuple[int, str], date] = {
    (1995, "early_may"): date(1995, 5, 8),  # 50th anniversary of VE Day
    (2002, "spring"): date(2002, 6, 4),  # Golden Jubilee
    (2012, "spring"): date(2012, 6, 4),  # Diamond Jubilee
    (2020, "early_may"): date(2020, 5, 8),  # 75th anniversary of VE Day (a Friday)
    (2022, "spring"): date(2022, 6, 2),  # Platinum Jubilee (a Thursday)
}
# Extra bank holidays declared for one year only.
ONE_OFF_CHANGES: dict[date, str] = {
    date(1999, 12, 31): "Millennium celebrations",
    date(2002, 6, 3): "Golden Jubilee",
    date(2011, 4, 29): "Royal wedding",
    date(2012, 6, 5): "Diamond Jubilee",
    date(2022, 6, 3): "Platinum Jubilee",
    date(2022, 9, 19): "State funeral of Queen Elizabeth II",
    date(2023, 5, 8): "Coronation of King Charles III",
}


def easter_sunday(year: int) -> date:
    """Return Easter Sunday in the Gregorian calendar (the anonymous Gregorian algorithm, Meeus/Jones/Butcher)."""
    golden = year % 19
    century, year_of_century = divmod(year, 100)
    leap_centuries, century_rest = divmod(century, 4)
    correction = (century + 8) // 25
    moon = (century - correction + 1) // 3
    epact = (19 * golden + century - leap_centuries - moon + 15) % 30
    quarters, rest = divmod(year_of_century, 4)
    weekday = (32 + 2 * century_rest + 2 * quarters - epact - rest) % 7
    offset = (golden + 11 * epact + 22 * weekday) // 451
    month, day = divmod(epact + weekday - 7 * offset + 114, 31)
    return date(year, month, day + 1)


def _first_monday(year: int, month: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(MONDAY - first.weekday()) % 7)


def _last_monday(year: int, month: int) -> date:
    last = date(year, 12, 31) if month == 12 else date(year, month + 1, 1) - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - MONDAY) % 7)


def _next_weekday(day: date, taken: set[date]) -> date:
    """Return the first day from `day` on that is neither a weekend nor already a holiday (a substitute day)."""
    while day.weekday() >= SATURDAY or day in taken:
        day += timedelta(days=1)
    return day


@cache
def bank_holidays(year: int) -> dict[date, str]:
    """Return the bank holidays of England and Wales in a year, with their names, in date order."""
    easter = easter_sunday(year)
    regular = {
        "early_may": _first_monday(year, 5),
        "spring": _last_monday(year, 5),
    }
    days: dict[date, str] = {}
    # New Year's Day on a weekend is replaced by the next Monday.
    days[_next_weekday(date(year, 1, 1), set())] = "New Year’s Day" + (
        " (substitute day)" if date(year, 1, 1).weekday() >= SATURDAY else ""
    )
    days[easter - timedelta(days=2)] = "Good Friday"
    days[easter + timedelta(days=1)] = "Easter Monday"
    days[MOVED.get((year, "early_may"), regular["early_may"])] = "Early May bank holiday"
    days[MOVED.get((year, "spring"), regular["spring"])] = "Spring bank holiday"
    days[_last_monday(year, 8)] = "Summer bank holiday"
    # Christmas then Boxing Day: each falling on a weekend moves to the next weekday not already taken, so
    # Christmas on a Saturday gives Monday 27 and Tuesday 28; on a Sunday, Tuesday 27 (Boxing Day is the Monday).
    # Days falling on a weekday keep their date first; then weekend ones take their substitutes.
    christmas = (("Christmas Day", date(year, 12, 25)), ("Boxing Day", date(year, 12, 26)))
    for name, day in christmas:
        if day.weekday() < SATURDAY:
            days[day] = name
    for name, day in christmas:
        if day.weekday() >= SATURDAY:
            days[_next_weekday(day, set(days))] = name + " (substitute day)"
    for day, name in ONE_OFF_CHANGES.items():
        if day.year == year:
            days[day] = name
    return dict(sorted(days.items()))


def is_working_day(day: date) -> bool:
    """Return whether a day is a working day in England and Wales (not a weekend, not a bank holiday)."""
    return day.weekday() < SATURDAY and day not in bank_holidays(day.year)


def add_working_days(start: date, count: int) -> date:
    """Return the `count`th working day after `start` (start itself is not counted)."""
    day = start
    remaining = count
    while remaining > 0:
        day += timedelta(days=1)
        if is_working_day(day):
            remaining -= 1
    return day


def uk_date(moment: datetime) -> date:
    """Return the calendar date in the UK at a moment (a letter sent at 23:30 UTC in summer went the next day)."""
    return moment.astimezone(UK_TIME).date()
