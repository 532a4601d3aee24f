"""How much a follow-up template may build, and how it is held to it.

Jinja2's sandbox keeps a template from reaching past its context, not from
exhausting the web request that saves it or the worker that sends it. A
letter is a few hundred words; every bound here is far above what one needs:

- text: no value a template writes out or builds (``~``, ``+``, a filter's
  result, a list written out, a ``{% set %}`` or ``{% filter %}`` block, the
  letter itself) passes TEXT_LIMIT characters, the longest body a plan may
  hold. A size that depends on an argument (``|replace``, ``|join``, a list
  written out) is measured before the text is built; one that is at most a
  few times what it was given (``|upper``, ``|escape``) is checked right after;
- ``*`` repeats up to REPEAT_LIMIT characters or items, and so does ``+``
  on lists; whole numbers multiplied stay below 2**NUMBER_BITS; ``**`` is
  refused, and so is ``%`` on text (``"%0999999999d" % 1``: use ``~``);
- a render goes round its loops LOOP_LIMIT times in all, builds BUILD_LIMIT
  characters in all, and stops after RENDER_SECONDS;
- a template calls no function or method (``"x".center(999999999)``) but
  ``loop.cycle`` and ``loop.changed``; its filters are the allowlist of
  recovery/followup_template_filters.py, which checks its own sizes.

How: the sandbox's documented hooks (``intercepted_binops`` and
``call_binop``, ``call``) and its ``code_generator_class``. ``~`` is no
operator the sandbox intercepts, so LetterCodeGenerator sends each
concatenation, each value written out, each filter's result, each loop and
each block's buffer through LetterEnvironment's ``bounded_*`` methods, and
the render's spending is kept on its context (``context_class``).

Saving compiles the template, and compiling calls filters on constants
(``{{ "x"|upper }}`` is written out as "X"): the allowed ones refuse before
building anything large, intercepted operators are never folded, and
Jinja2's optimizer, which folded again at every level of an expression, is
off (LetterEnvironment), so saving cannot build anything large or take long
either. Rendering through these hooks writes what Jinja2 wrote: the same
values turned into text the same way, only measured."""

import time
from collections.abc import Callable, Iterator, Mapping, Sized
from itertools import islice
from typing import Any, cast

from jinja2.compiler import CodeGenerator, Frame
from jinja2.nodes import Concat, Expr, Filter, For, Node
from jinja2.runtime import Context, LoopContext
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

# The longest body a plan may hold (recovery.services.followups_plans.BODY_LIMIT),
# and so the longest text a template may build or write.
TEXT_LIMIT = 20_000
# What one ``*`` may build, in characters or items: a letter is a few
# hundred words, and ``{{ customer.name * 999999999 }}`` would build gigabytes.
REPEAT_LIMIT = 10_000
# Whole numbers multiplied stay below 2**NUMBER_BITS: no letter counts that
# far, and {% set n = n * n %} written out thirty times would otherwise take
# the worker's memory.
NUMBER_BITS = 256
# A letter's loops go through a handful of gifts and fixes; loops nested
# over long lists would keep the worker busy for hours.
LOOP_LIMIT = 10_000
# Each value is bounded, but a list of many of them is not: what one render
# builds in all, in characters.
BUILD_LIMIT = 100 * TEXT_LIMIT
# A letter renders in a millisecond; the backstop for work the bounds above
# do not count (comparing long texts over and over in a loop).
RENDER_SECONDS = 2.0


def power_refused(line: int | None = None) -> str:
    where = f" on line {line}" if line else ""
    return f"A follow-up cannot raise a number to a power (**{where}): write the number itself."


def format_refused(line: int | None = None) -> str:
    where = f" (line {line})" if line else ""
    return f"A follow-up cannot format text with %{where}: join text with ~."


def call_refused(line: int | None = None) -> str:
    where = f" (line {line})" if line else ""
    return (
        f"A follow-up cannot call functions or methods{where}: "
        "a filter does what a letter needs, such as {{ customer.name|upper }}."
    )


def text_refused() -> str:
    return f"A follow-up cannot build text longer than {TEXT_LIMIT:,} characters."


def text_size(value: Any) -> int:
    """About ``len(str(value))`` without building it, counted no further
    than TEXT_LIMIT: a list written out is its items' reprs, which escape
    a few characters more than this counts (the text is checked once built)."""
    if isinstance(value, str):
        return len(value)
    total, pending = 0, [value]
    while pending and total <= TEXT_LIMIT:
        item = pending.pop()
        room = TEXT_LIMIT - total + 1
        if isinstance(item, str):
            total += len(item) + 2  # its quotes
        elif isinstance(item, Mapping):
            total += 2 + 4 * len(item)  # braces, ": " and ", "
            for key, each in islice(item.items(), room):
                pending += (key, each)
        elif isinstance(item, list | tuple | set | frozenset):
            total += 2 + 2 * len(item)  # brackets and ", "
            pending.extend(islice(item, room))
        elif isinstance(item, int):
            total += item.bit_length() // 3 + 2  # str() refuses past 4,300 digits
        else:
            total += len(str(item))  # a date, a Decimal, None: short
    return total


def bounded_text(value: Any) -> str:
    """``str(value)``, refused (SecurityError) past TEXT_LIMIT before it is built."""
    if text_size(value) > TEXT_LIMIT:
        raise SecurityError(text_refused())
    return checked_text(str(value))


def checked_text(value: Any) -> Any:
    """``value``, refused if it is text longer than TEXT_LIMIT."""
    if isinstance(value, str) and len(value) > TEXT_LIMIT:
        raise SecurityError(text_refused())
    return value


def size(value: str | list[Any] | tuple[Any, ...]) -> int:
    """``value``'s characters, or its items with their own characters (each
    at least one: ``[""] * n`` is n items), counted no further than the limit."""
    if isinstance(value, str):
        return len(value)
    total, pending = 0, [value]
    while pending and total <= REPEAT_LIMIT:
        for item in pending.pop()[: REPEAT_LIMIT + 1]:
            if isinstance(item, list | tuple):
                pending.append(item)
            total += max(len(item), 1) if isinstance(item, str) else 1
            if total > REPEAT_LIMIT:
                break
    return total


def check_product(left: Any, right: Any) -> None:
    """SecurityError when ``left * right`` would be too big to build."""
    for repeated, times in ((left, right), (right, left)):
        if isinstance(repeated, str | list | tuple) and isinstance(times, int):
            if size(repeated) * max(times, 0) > REPEAT_LIMIT:
                raise SecurityError(
                    f"A follow-up cannot repeat text or a list past {REPEAT_LIMIT:,} "
                    "characters or items."
                )
            return
    both_whole = isinstance(left, int) and isinstance(right, int)
    if both_whole and abs(left).bit_length() + abs(right).bit_length() > NUMBER_BITS:
        raise SecurityError("A follow-up cannot multiply numbers that large.")


def check_sum(left: Any, right: Any) -> None:
    """SecurityError when ``left + right`` would be too big to build:
    ``{% set s = s + s %}`` forty times is a terabyte."""
    texts = isinstance(left, str) and isinstance(right, str)
    if texts and len(left) + len(right) > TEXT_LIMIT:
        raise SecurityError(text_refused())
    lists = isinstance(left, list | tuple) and isinstance(right, list | tuple)
    if lists and size(left) + size(right) > REPEAT_LIMIT:
        raise SecurityError(
            f"A follow-up cannot add lists past {REPEAT_LIMIT:,} characters or items."
        )


class Budget:
    """What one render has spent: its loops' rounds, the characters it
    built, its time."""

    def __init__(self) -> None:
        self.rounds = 0
        self.built = 0
        self.deadline = time.monotonic() + RENDER_SECONDS

    def spend(self, value: Any = None, *, rounds: int = 0) -> None:
        self.rounds += rounds
        if self.rounds > LOOP_LIMIT:
            raise SecurityError(
                f"A follow-up cannot go round its loops more than {LOOP_LIMIT:,} times."
            )
        if isinstance(value, str | list | tuple):
            self.built += len(value)
            if self.built > BUILD_LIMIT:
                raise SecurityError(
                    f"A follow-up cannot build more than {BUILD_LIMIT:,} characters in all."
                )
        if time.monotonic() > self.deadline:
            raise SecurityError(f"A follow-up cannot take more than {RENDER_SECONDS:g} seconds.")


class LetterContext(Context):
    """Jinja2's context, one per render, holding what the render spent."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.budget = Budget()


def _budget(context: Context) -> Budget:
    return cast(LetterContext, context).budget


class _Rounds:
    """A loop's items, each round counted as the loop goes. Sized, so that
    ``loop.length`` and ``loop.last`` read as they did."""

    def __init__(self, items: Any, budget: Budget) -> None:
        self._items: Any = items if isinstance(items, Sized) else list(items)
        self._budget = budget

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Any]:
        for item in self._items:
            self._budget.spend(rounds=1)
            yield item


class _Buffer(list[Any]):
    """What a ``{% set %}`` or ``{% filter %}`` block (or a loop inside one)
    collects, refused past TEXT_LIMIT as it grows, not once joined."""

    written = 0

    def append(self, item: Any, /) -> None:
        self._grow(item)
        super().append(item)

    def extend(self, items: Any, /) -> None:
        items = tuple(items)
        for item in items:
            self._grow(item)
        super().extend(items)

    def _grow(self, item: Any) -> None:
        self.written += len(item) if isinstance(item, str) else 0
        if self.written > TEXT_LIMIT:
            raise SecurityError(text_refused())


class LetterCodeGenerator(CodeGenerator):
    """Jinja2's code, with what it builds sent through the environment's
    ``bounded_*`` methods (``context`` is in scope wherever an expression is)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._loop_items: set[int] = set()

    def visit(self, node: Node, *args: Any, **kwargs: Any) -> Any:
        if id(node) not in self._loop_items:
            return super().visit(node, *args, **kwargs)
        self.write("environment.bounded_loop(context, ")
        super().visit(node, *args, **kwargs)
        self.write(")")
        return None

    def visit_For(self, node: For, frame: Frame) -> None:
        self._loop_items.add(id(node.iter))  # wrapped where visit() writes it
        super().visit_For(node, frame)

    def visit_Concat(self, node: Concat, frame: Frame) -> None:
        # Jinja2's writes str_join((...)): the same, measured. (Its
        # markup_join is for autoescaping, which a letter never does: plain
        # text, and the autoescape tag is not allowed.)
        self.write("environment.bounded_concat(context, (")
        for operand in node.nodes:
            self.visit(operand, frame)
            self.write(", ")
        self.write("))")

    def visit_Filter(self, node: Filter, frame: Frame) -> None:
        self.write("environment.bounded_result(context, ")
        super().visit_Filter(node, frame)
        self.write(")")

    def _output_child_pre(
        self, node: Expr, frame: Frame, finalize: CodeGenerator._FinalizeInfo
    ) -> None:
        super()._output_child_pre(node, frame, finalize)  # str(
        self.write("environment.bounded_output(context, ")

    def _output_child_post(
        self, node: Expr, frame: Frame, finalize: CodeGenerator._FinalizeInfo
    ) -> None:
        self.write(")")
        super()._output_child_post(node, frame, finalize)

    def buffer(self, frame: Frame) -> None:
        # Jinja2's writes "= []".
        frame.buffer = self.temporary_identifier()
        self.writeline(f"{frame.buffer} = environment.bounded_buffer()")


def _loop_helper(value: Any) -> bool:
    """``loop.cycle`` or ``loop.changed``: they hand back what they were given."""
    owner = getattr(value, "__self__", None)
    return isinstance(owner, LoopContext) and getattr(value, "__name__", "") in {
        "cycle",
        "changed",
    }


class LetterEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox with the bounds above. Its filters are the ones given
    (an allowlist) and it has no globals (``range``, ``lipsum``, ``cycler``,
    ``joiner``, ``namespace``, ``dict``): the context is all there is."""

    code_generator_class = LetterCodeGenerator
    context_class = LetterContext
    # Intercepted, they are not folded at compile time either: {{ 9 ** 9 ** 9 }}
    # hung the save.
    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self, *, filters: Mapping[str, Callable[..., Any]], **options: Any) -> None:
        # Not optimized: Jinja2's optimizer folds constants again at each
        # level of an expression, so compiling |upper|upper... nested two
        # hundred deep took seconds (cubic). A letter has few constants to
        # fold, and writes the same without it.
        super().__init__(optimized=False, **options)
        self.filters = dict(filters)
        self.globals.clear()

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "**":
            raise SecurityError(power_refused())
        if operator == "%" and isinstance(left, str):
            raise SecurityError(format_refused())
        if operator == "*":
            check_product(left, right)
        if operator == "+":
            check_sum(left, right)
        # Checked after too: Markup + text escapes the text.
        result = checked_text(super().call_binop(context, operator, left, right))
        _budget(context).spend(result)
        return result

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        if not _loop_helper(__obj):
            raise SecurityError(call_refused())
        return super().call(__context, __obj, *args, **kwargs)

    def bounded_output(self, context: Context, value: Any) -> str:
        """A value written out (``{{ value }}``)."""
        text = bounded_text(value)
        _budget(context).spend(text)
        return text

    def bounded_concat(self, context: Context, values: tuple[Any, ...]) -> str:
        """``a ~ b``: each measured as text, then their sum, before joining."""
        texts = [bounded_text(value) for value in values]
        if sum(map(len, texts)) > TEXT_LIMIT:
            raise SecurityError(text_refused())
        text = "".join(texts)
        _budget(context).spend(text)
        return text

    def bounded_result(self, context: Context, value: Any) -> Any:
        """A filter's result (the filter checked its size; this its cost)."""
        _budget(context).spend(checked_text(value))
        return value

    def bounded_loop(self, context: Context, items: Any) -> _Rounds:
        return _Rounds(items, _budget(context))

    def bounded_buffer(self) -> _Buffer:
        return _Buffer()
