"""The one test that every Spider2-DBT instance runs; the plugin parametrizes it over the suite.

(The file name matches neither `test_*.py` nor `*_test.py`, so `pytest .` never collects it on its own.)
"""

from __future__ import annotations


def test_instance(spider2_instance_id, spider2_instance, spider2_agent_run, spider2_result, spider2_judge):
    spider2_judge(spider2_instance, spider2_agent_run, spider2_result)
