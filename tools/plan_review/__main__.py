"""`python -m tools.plan_review PLAN.json ...`: see tools/plan_review/report.py."""

import sys

from tools.plan_review.report import main

sys.exit(main())
