"""One page with one text: what any Reflex page costs to show."""

import reflex as rx

TEXT = "Blank Reflex page"


def index() -> rx.Component:
    return rx.text(TEXT, id="blank-text")


app = rx.App()
app.add_page(index, route="/")
