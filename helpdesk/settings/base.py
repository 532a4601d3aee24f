"""Settings shared by every mode, read from the environment.

With nothing set, the defaults give the local mode: SQLite, Celery on kombu's
filesystem transport and email written to files, all under ``var/`` in the
checkout, so the desk runs on a laptop with no services at all.

One module per concept, gathered here; ``local``, ``production`` and
``test`` start from this and change what differs for their mode.
"""

from helpdesk.settings.api import *  # noqa: F403
from helpdesk.settings.cache import *  # noqa: F403
from helpdesk.settings.celery import *  # noqa: F403
from helpdesk.settings.database import *  # noqa: F403
from helpdesk.settings.desk import *  # noqa: F403
from helpdesk.settings.environment import *  # noqa: F403
from helpdesk.settings.mail import *  # noqa: F403
from helpdesk.settings.project import *  # noqa: F403
from helpdesk.settings.security import *  # noqa: F403
