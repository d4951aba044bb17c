"""One text that only the page's on_load event sets: the least a Reflex page whose content
comes from the backend waits for (module evaluation, mount, socket, hydrate, one event, one
delta, one render), with no database and no work in the handler. Context, not the floor."""

import reflex as rx

TEXT = "Loaded by on_load"


class LoadedState(rx.State):
    text: str = ""

    @rx.event
    def load(self):
        self.text = TEXT


def index() -> rx.Component:
    return rx.text(LoadedState.text, id="loaded-text")


app = rx.App()
app.add_page(index, route="/", on_load=LoadedState.load)
