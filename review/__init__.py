"""tonescribe review: the browser screen for listening, seeing the prosody and correcting.

``review.corrections`` is the corrections layer (``corrections.json`` beside ``transcript.json``);
``review.app`` the local web application; ``review.cmd_review`` the ``tonescribe review`` command.
"""
