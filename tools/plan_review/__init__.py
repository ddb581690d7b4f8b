"""Plan review: what a `terraform plan` of this project changes, as Markdown a reviewer can trust.

    make plan ENV=prod                        # plans/<stack>.json for every stack of prod
    make plan-review PLAN="plans/mlbatch-prod.json plans/mlbatch-prod-*.json"   # on stdout

`plan.py` runs terraform (it needs AWS credentials and the hashicorp/aws provider); the rest only
reads `terraform show -json` output and runs anywhere. The stack of a plan is its file name
(`plans/<stack>.json`); the environment and its `allow_destroy` come from the project config.
"""
