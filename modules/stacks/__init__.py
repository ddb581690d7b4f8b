"""The app's Terraform stacks: each environment's, and the bootstrap stacks that hold their state.

Layout ``per-pipeline`` (the default), one Terraform state each:

    BaseStack      <project>-<env>             storage ──> alert topic, schedule group
    PipelineStack  <project>-<env>-<pipeline>  sagemaker ──> sfn ──> scheduler ──> alarms
                                               (base outputs via terraform_remote_state)
    DashboardStack <project>-<env>-dashboard   dashboard(s), from names only

Layout ``single``: ``EnvironmentStack`` composes the same parts in one stack. Both layouts build
the same construct paths, so the same resource addresses.

- ``provider``: the AWS provider and the backend every stack gets;
- ``outputs``: the table of every output and its description;
- ``environment``: the environment stacks of both layouts, composing the layers;
- ``bootstrap``: the state bootstrap stacks (state buckets, keys, lock tables), deployed first;
- ``app``: ``build_app``, every stack of the config.

Stack names come from ``modules/stack_names.py``, which loads no cdktf.
"""
