"""The words and buttons of each notification (pure: no network, no clock), by whom they are for."""

from sentinel.notifier.messages.alerts import (
    FOLLOW_UP_SAID as FOLLOW_UP_SAID,
)
from sentinel.notifier.messages.alerts import (
    alert_note as alert_note,
)
from sentinel.notifier.messages.alerts import (
    call_me_note as call_me_note,
)
from sentinel.notifier.messages.alerts import (
    confirm_note as confirm_note,
)
from sentinel.notifier.messages.alerts import (
    follow_up_ask_note as follow_up_ask_note,
)
from sentinel.notifier.messages.alerts import (
    follow_up_said as follow_up_said,
)
from sentinel.notifier.messages.alerts import (
    going_note as going_note,
)
from sentinel.notifier.messages.alerts import (
    last_resort_note as last_resort_note,
)
from sentinel.notifier.messages.alerts import (
    released_note as released_note,
)
from sentinel.notifier.messages.alerts import (
    with_note as with_note,
)
from sentinel.notifier.messages.alerts import (
    without_email as without_email,
)
from sentinel.notifier.messages.circle import (
    agreed_note as agreed_note,
)
from sentinel.notifier.messages.circle import (
    broker_note as broker_note,
)
from sentinel.notifier.messages.circle import (
    consent_note as consent_note,
)
from sentinel.notifier.messages.circle import (
    drill_missed_note as drill_missed_note,
)
from sentinel.notifier.messages.circle import (
    drill_note as drill_note,
)
from sentinel.notifier.messages.circle import (
    health_note as health_note,
)
from sentinel.notifier.messages.circle import (
    not_agreed_note as not_agreed_note,
)
from sentinel.notifier.messages.circle import (
    parked_note as parked_note,
)
from sentinel.notifier.messages.circle import (
    silence_note as silence_note,
)
from sentinel.notifier.messages.common import (
    TITLES as TITLES,
)
from sentinel.notifier.messages.common import (
    button as button,
)
from sentinel.notifier.messages.common import (
    info_note as info_note,
)
from sentinel.notifier.messages.common import (
    join_id as join_id,
)
from sentinel.notifier.messages.common import (
    join_names as join_names,
)
from sentinel.notifier.messages.resident import (
    CHECK_OUTCOMES as CHECK_OUTCOMES,
)
from sentinel.notifier.messages.resident import (
    STATE_WORDS as STATE_WORDS,
)
from sentinel.notifier.messages.resident import (
    availability_note as availability_note,
)
from sentinel.notifier.messages.resident import (
    daily_line as daily_line,
)
from sentinel.notifier.messages.resident import (
    daily_note as daily_note,
)
from sentinel.notifier.messages.resident import (
    outings_words as outings_words,
)
from sentinel.notifier.messages.resident import (
    resident_check_note as resident_check_note,
)
from sentinel.notifier.messages.resident import (
    resident_thanks as resident_thanks,
)
from sentinel.notifier.messages.resident import (
    resident_today_note as resident_today_note,
)
