"""Running the history in time order under a frozen clock."""

import heapq
import itertools
from collections.abc import Callable
from datetime import datetime, timedelta

import time_machine

Action = Callable[[], object]


class Timeline:
    """Actions in time order. Each runs under a clock frozen at its moment
    and may add later ones; what would happen after ``until`` never does."""

    def __init__(self, *, until: datetime) -> None:
        self.until = until
        self.now = datetime.min.replace(tzinfo=until.tzinfo)
        self._heap: list[tuple[datetime, int, Action]] = []
        self._order = itertools.count()

    def at(self, moment: datetime, action: Action) -> None:
        moment = max(moment, self.now)
        if moment < self.until:
            heapq.heappush(self._heap, (moment, next(self._order), action))

    def after(self, delay: timedelta, action: Action) -> None:
        self.at(self.now + delay, action)

    def run(self, *, after_each: Callable[[], None]) -> None:
        while self._heap:
            self.now, _, action = heapq.heappop(self._heap)
            with time_machine.travel(self.now, tick=False):
                action()
                after_each()
