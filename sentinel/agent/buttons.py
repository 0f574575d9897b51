"""What a Zigbee button's ``action`` means: a call for help, "I'm OK", nothing, or a gesture sentinel does not know.

The names are zigbee2mqtt's (zigbee-herdsman-converters), per device family.
"""

from __future__ import annotations

import re

from sentinel.core.sensors import Gesture

HELP = {"double": "double press", "hold": "long press", "long": "long press", "long_press": "long press"}
HELP |= {"triple": "triple press", "double_press": "double press"}
# Pressed again and again in alarm, an Aqara button (WXKG01LM, WXKG13LM) counts the presses: 4, 5, then "many".
HELP |= {"quadruple": "quadruple press", "quintuple": "quintuple press", "many": "many presses"}
# IKEA's TRADFRI on/off switch (E1743) and shortcut button (E1812) have no "hold" of their own: a hold sends the
# Zigbee level control's Move, which zigbee2mqtt names brightness_move_up (I) or _down (O), and the release Stop.
# Its five-button remote (E1524/E1810) names each hold: toggle_hold, brightness_up_hold, arrow_left_hold ...
HELP |= {"brightness_move_up": "long press", "brightness_move_down": "long press", "toggle_hold": "long press"}
HELP |= {f"{key}_hold": "long press" for key in ("brightness_up", "brightness_down", "arrow_left", "arrow_right")}
OK = {"single", "press", "on", "toggle", "short_release"}
SAYS_NOTHING = {"", "release", "brightness_stop", "initial_press", "long_release"}
SAYS_NOTHING |= {f"{key}_release" for key in ("brightness_up", "brightness_down", "arrow_left", "arrow_right")}
"""Actions that only end another (a hold let go) or begin one (SOMRIG's initial_press comes before every gesture),
or zigbee2mqtt clearing the last one: neither help nor "I'm OK". "off" is in neither set: it is the E1743's O
pressed, but the E1812 sends it for a double press, which other buttons use to call for help; taken for "I'm OK" it
could close the very alert it was meant to raise. Like any action sentinel does not understand, it does nothing and
the log says so once."""
BUTTON_NUMBER = re.compile(r"(?:dots_)?[1-9]_")
"""Which of a device's buttons it was: Tuya's four-button TS0044 sends 1_single ... 4_hold, IKEA's SOMRIG (E2213)
1_initial_press, 2_long_press ... and SYMFONISK dots_1_double_press. Each of them is a help button."""


def gesture(action: str) -> Gesture | None:
    """The gesture ``action`` is; None when it says nothing (``says_nothing``) or is not known."""
    plain = _plain(action)
    if plain in HELP:
        return Gesture("help", HELP[plain])
    if plain in OK:
        return Gesture("ok", "short press")
    return None


def says_nothing(action: str) -> bool:
    """Whether ``action`` only ends or begins another, or clears the last one."""
    return _plain(action) in SAYS_NOTHING


def _plain(action: str) -> str:
    """``action`` without the number of the button on the device: "2_long_press" is "long_press"."""
    return action[match.end() :] if (match := BUTTON_NUMBER.match(action)) else action
