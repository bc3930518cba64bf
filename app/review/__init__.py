"""The reviewer's loop without storage or screens: rubrics and answers, sampling rules
and their deterministic draw, reviewer agreement, and the datasets built from labels."""
