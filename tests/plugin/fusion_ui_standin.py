"""A small stand-in for Fusion's UIManager / bmd.UIDispatcher, driven by a scripted "editor".

Models only what Revoice.py's window uses: AddWindow with nested groups of
elements (properties as attributes), window.On[ID].<Event> and
dispatcher.On.Timeout handlers, ui.Timer, RunLoop/ExitLoop and
fusion.RequestFile. ``RunLoop`` hands control to ``editor(dispatcher)``,
which clicks and lets the timers fire until the script calls ``ExitLoop``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class Element:
    def __init__(self, kind: str, props: dict[str, Any], children: list[Element]) -> None:
        self.kind, self.children = kind, children
        self.entries: list[str] = []
        self.ID: str | None = None
        self.__dict__.update(props)

    def AddItem(self, text: str) -> None:
        self.entries.append(text)

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)

    def __getattr__(self, name: str) -> Any:
        """Properties the script never set do not exist (as in UIManager, where reading them is a bug here)."""
        raise AttributeError(name)


class Handlers:
    """``On["Start"]``: event name -> handler, set by the script (``.Clicked = fn``)."""


class Events:
    def __init__(self) -> None:
        self._by_id: dict[str, Handlers] = {}

    def __getitem__(self, key: str) -> Handlers:
        return self._by_id.setdefault(key, Handlers())

    def fire(self, key: str, event: str) -> bool:
        handler = getattr(self._by_id.get(key), event, None)
        if handler is None:
            return False
        handler({"who": key, "what": event})
        return True


class Timer:
    def __init__(self, props: dict[str, Any]) -> None:
        self.ID, self.Interval, self.running = props.get("ID"), props.get("Interval"), False

    def Start(self) -> None:
        self.running = True

    def Stop(self) -> None:
        self.running = False


class Window:
    def __init__(self, props: dict[str, Any], root: Element) -> None:
        self.props, self.root, self.On, self.shown = props, root, Events(), False

    def GetItems(self) -> dict[str, Element]:
        found, todo = {}, [self.root]
        while todo:
            element = todo.pop()
            if element.ID:
                found[element.ID] = element
            todo += element.children
        return found

    def Show(self) -> None:
        self.shown = True

    def Hide(self) -> None:
        self.shown = False


class UIManager:
    def __init__(self) -> None:
        self.timers: list[Timer] = []

    def Timer(self, props: dict[str, Any]) -> Timer:
        timer = Timer(props)
        self.timers.append(timer)
        return timer

    def __getattr__(self, kind: str) -> Callable[..., Element]:
        def make(*args: Any) -> Element:
            props = next((a for a in args if isinstance(a, dict)), {})
            children = next((a for a in args if isinstance(a, list)), [])
            return Element(kind, props, children)
        return make


class Dispatcher:
    def __init__(self, ui: UIManager, editor: Callable[[Dispatcher], None]) -> None:
        self.ui, self.editor, self.On, self.exited = ui, editor, Handlers(), False
        self.windows: list[Window] = []

    def AddWindow(self, props: dict[str, Any], root: Element) -> Window:
        window = Window(props, root)
        self.windows.append(window)
        return window

    def RunLoop(self) -> None:
        self.editor(self)

    def ExitLoop(self) -> None:
        self.exited = True

    def tick(self) -> None:
        """Fire every running timer's Timeout the ways Fusion versions deliver it (window and dispatcher)."""
        for timer in self.ui.timers:
            if timer.running:
                for window in self.windows:
                    window.On.fire(str(timer.ID), "Timeout")
                handler = getattr(self.On, "Timeout", None)
                if handler is not None and timer.running:
                    handler({"who": timer.ID, "what": "Timeout"})


class Bmd:
    def __init__(self, editor: Callable[[Dispatcher], None]) -> None:
        self.editor = editor
        self.dispatchers: list[Dispatcher] = []

    def UIDispatcher(self, ui: UIManager) -> Dispatcher:
        dispatcher = Dispatcher(ui, self.editor)
        self.dispatchers.append(dispatcher)
        return dispatcher


class Fusion:
    def __init__(self, picked_file: str | None = None) -> None:
        self.UIManager = UIManager()
        self.picked_file = picked_file

    def RequestFile(self, *args: Any) -> str | None:
        return self.picked_file
