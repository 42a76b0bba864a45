"""Certification (VAEP) status: artisans see where their application stands and are told when
it moves; staff import the register and set stages.

- :mod:`.stages`: the stages and what each means for the artisan;
- :mod:`.importer`: the register import; :mod:`.cli`: ``hirfa import certifications FILE``;
- :mod:`.changes`: moving an application (history, safe owner, one notification per change);
- :mod:`.artisan`: "My certification" and safe linking; :mod:`.staff`: lookup and stage setting;
- :mod:`.texts`: how an application reads in a message; :mod:`.calendar`: the ``.ics`` file;
- :mod:`.demo`: sample applications for ``hirfa shell --demo``.
"""

from __future__ import annotations

from bot.dialogue import Job, Router
from handlers.certification import artisan, cli, demo, staff

router = Router()
router.include(artisan.router)
router.include(staff.router)
router.jobs.append(Job("certification-prune-attempts", artisan.prune_attempts, 3600))
router.demo.append(demo.seed)
router.cli.append(cli.register)

__all__ = ["router"]
