"""Research tools: sessions read back from their journals, months later.

* :mod:`.timeline` — the typed timeline of one session (``load_timeline``), which every tool starts from;
* :mod:`.report` — the self-contained HTML report (``vr-exposure report``);
* :mod:`.export` — CSV, Parquet and BIDS (``vr-exposure export``);
* :mod:`.replay` — what the patient saw, rebuilt on the renderer's stage (``vr-exposure replay``);
* the live Lab Streaming Layer bridge (outlets and a physiology inlet) is :mod:`vr_exposure.lsl`, beside
  ``link`` and ``journal``: the renderer and the console use it live;
* :mod:`.synthetic` — sessions written through the journal writer, for tests and benchmarks.

Modules are imported on demand (numpy, pyarrow and Panda3D only where used). docs/research.md
describes the tools for researchers.
"""
