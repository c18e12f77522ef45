"""The creative director: a brief becomes a storyboard of image or video scenes.

A parent job (generations/parents.py) with one child per scene. Accepted with every scene's
price charged (image per image, video per second); planned on the cluster by the team's chat
model when it has one (JSON asked for, validated, re-asked once: generations/language.py),
else by the rule-based shot planner (planner.py), labelled as such. Scenes share the look: the
moodboard (one for all, or one per scene), the Visual DNA, the reference images, and one seed
family (the request's seed plus the scene's index).
"""

from generations.creative_director import planner  # noqa: F401 - registers the plan step
