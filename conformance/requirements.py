"""The xAPI requirements the suite checks, and where each one is written.

One row per id of the project's requirements checklist (GEN-01, STPUT-03, ...):
which versions it applies to, its level, and the sections of the 1.0.3 text
(`P2` = Part Two: Data, `P3` = Part Three: Communication) and of the 2.0 text
(`L` = IEEE 9274.1.1 Base Standard for LRSs; `Δ sNN` = a row of its "changes
from 1.0.3" table) that state it. The table is data copied into the package so
that the suite stays standalone; the spec texts are the authority.

Test names carry the ids they check (`test_stpost_05_07_...` checks STPOST-05
and STPOST-07; a parameter id such as `sv01_missing_actor` adds SV-01):
`ids_of` reads them, and a test naming no known id is a collection error."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Section titles, as headed in the spec texts.
SECTIONS = {
    "L §4.1": "LRS Communication",
    "L §4.1.1": "Headers",
    "L §4.1.2": "Encoding",
    "L §4.1.3": "Content Types",
    "L §4.1.4": "Concurrency",
    "L §4.1.5": "Error Codes",
    "L §4.1.6": "Resources",
    "L §4.1.6.1": "Statement Resource (/statements)",
    "L §4.1.6.2": "State Resource (/activities/state)",
    "L §4.1.6.3": "Agents Resource (/agents)",
    "L §4.1.6.4": "Activities Resource (/activities)",
    "L §4.1.6.5": "Agent Profile Resource (/agents/profile)",
    "L §4.1.6.6": "Activity Profile Resource (/activities/profile)",
    "L §4.1.6.7": "About Resource (/about)",
    "L §4.1.7": "Versioning",
    "L §4.1.8": "Authentication",
    "L §4.1.9": "Security",
    "L §4.2": "LRS Data Requirements",
    "L §4.2.1": "Table Guidelines",
    "L §4.2.2": "Statement",
    "L §4.2.2.1": "Actor",
    "L §4.2.2.2": "Verb",
    "L §4.2.2.3": "Object",
    "L §4.2.2.4": "Result",
    "L §4.2.2.5": "Context",
    "L §4.2.2.6": "Attachments",
    "L §4.2.3": "Metadata",
    "L §4.2.3.1": "LRS Recommendations",
    "L §4.2.4": "LRS Processing of Data",
    "L §4.2.4.1": "LRS Rejection Cases",
    "L §4.2.4.2": "Specific Statement Data Requirements for an LRS",
    "L §4.2.4.3": "Data Response Recommendations",
    "L §4.2.5": "Statement Voiding",
    "L §4.2.6": "Statement Signing",
    "L §4.2.7": "Additional Requirements for Data Types",
    "P2 §2.2": "Formatting Requirements",
    "P2 §2.3": "Statement Lifecycle",
    "P2 §2.3.1": "Statement Immutability",
    "P2 §2.3.2": "Voiding",
    "P2 §2.4": "Statement Properties",
    "P2 §2.4.1": "ID",
    "P2 §2.4.10": "Version",
    "P2 §2.4.11": "Attachments",
    "P2 §2.4.2.1": "When the Actor objectType is Agent",
    "P2 §2.4.2.2": "When the Actor ObjectType is Group",
    "P2 §2.4.2.3": "Inverse Functional Identifier",
    "P2 §2.4.2.4": "Account Object",
    "P2 §2.4.3": "Verb",
    "P2 §2.4.4": "Object",
    "P2 §2.4.4.1": "When the ObjectType is Activity",
    'P2 §2.4.4.2': 'When the "Object" is an Agent or a Group',
    'P2 §2.4.4.3': 'When the "Object" is a Statement',
    "P2 §2.4.5": "Result",
    "P2 §2.4.5.1": "Score",
    "P2 §2.4.6": "Context",
    "P2 §2.4.6.2": "ContextActivities Property",
    "P2 §2.4.7": "Timestamp",
    "P2 §2.4.8": "Stored",
    "P2 §2.4.9": "Authority",
    "P2 §2.5": "Retrieval of Statements",
    "P2 §2.6": "Signed Statements",
    "P2 §3.1": "IRI Requirements",
    "P2 §3.2": "Hosted Metadata",
    "P2 §4.1": "Extensions",
    "P2 §4.2": "Language Maps",
    "P2 §4.4": "UUIDs",
    "P2 §4.5": "ISO 8601 Timestamps",
    "P2 §4.6": "ISO 8601 Durations",
    "P3 App. A": "Converting Statements to 1.0.0",
    "P3 App. B": "Table of All Resources",
    "P3 §1.1": "HEAD Request Implementation",
    "P3 §1.2": "Headers",
    "P3 §1.3": "Alternate Request Syntax",
    "P3 §1.4": "Encoding",
    "P3 §1.5": "Content Types",
    "P3 §1.5.1": "Application/JSON",
    "P3 §1.5.2": "Multipart/Mixed",
    "P3 §2.0": "Resources",
    "P3 §2.1.1": "PUT Statements",
    "P3 §2.1.2": "POST Statements",
    "P3 §2.1.3": "GET Statements",
    "P3 §2.1.4": "Voided Statements",
    "P3 §2.2": "Document Resources",
    "P3 §2.3": "State Resource",
    "P3 §2.4": "Agents Resource",
    "P3 §2.5": "Activities Resource",
    "P3 §2.6": "Agent Profile Resource",
    "P3 §2.7": "Activity Profile Resource",
    "P3 §2.8": "About Resource",
    "P3 §3.0": "Data Validation",
    "P3 §3.1": "Concurrency",
    "P3 §3.2": "Error Codes",
    "P3 §3.3": "Versioning",
    "P3 §4.0": "Authentication",
    "P3 §4.1": "OAuth 1.0 Authentication Scenarios and Methods",
    "P3 §4.2": "OAuth 1.0 Authorization Scope",
    "P3 §5.0": "Security",
}

_BOOKS = {"P2": "1.0.3 Part Two", "P3": "1.0.3 Part Three", "L": "2.0",
          "Δ": "2.0 changes from 1.0.3"}

# The xAPI resource each id group is about: the rows of the per-resource summary.
RESOURCES = {
    "STPUT": "statements", "STPOST": "statements", "STGET": "statements",
    "ATT": "statements", "SIG": "statements", "SV": "statements", "SA": "statements",
    "SVB": "statements", "SO": "statements", "SR": "statements", "SC": "statements",
    "SP": "statements", "DT": "statements", "IMM": "statements",
    "DOC": "documents", "STATE": "activities/state", "APROF": "activities/profile",
    "AGPROF": "agents/profile", "ACT": "activities", "META": "activities",
    "AGT": "agents", "ABOUT": "about",
    # Rules of every resource: requests, versions, credentials, errors.
    "GEN": "all resources", "VER": "all resources", "AUTH": "all resources",
    "ERR": "all resources", "V20": "all resources",
}

# id | versions | level | 1.0.3 sections | 2.0 sections ("-": none)
_TABLE = """
GEN-01 | both | MUST | P3 §2.0, P3 App. B | L §4.1, L §4.1.6
GEN-02 | both | MAY / SHOULD | P3 §2.0 | L §4.1.6
GEN-03 | 2.0 | SHOULD NOT | - | L §4.1
GEN-04 | both | MUST | P3 §1.1 | L §4.1
GEN-05 | both | MUST | P3 §1.4 | L §4.1.2
GEN-06 | 2.0 | MUST | P3 §1.2 | L §4.1.1
GEN-07 | both | MUST | P3 §3.2 | L §4.1.5
GEN-08 | both | MUST | P3 §3.2 | L §4.1.5
GEN-09 | both | MUST | P2 §2.2 | L §4.1.6
GEN-10 | both | MUST | P2 §2.2 | L §4.1.6
GEN-11 | 2.0 | MUST | - | L §4.1
GEN-12 | both | SHOULD / SHOULD NOT | P3 §3.0 | L §4.1
GEN-13 | 1.0.3 | SHOULD* | P3 §3.2 | Δ s55
GEN-14 | both | MUST | P3 §1.5.1 | L §4.1.3
GEN-15 | both | — | P3 §1.5 | L §4.1.3
GEN-16 | 1.0.3 | MUST | P3 §1.3 | -
GEN-17 | 1.0.3 | MUST | P3 §1.3 | -
GEN-18 | 1.0.3 | MUST | P3 §1.3 | -
GEN-19 | 1.0.3 | MUST | P3 §1.3 | -
GEN-20 | 1.0.3 | MUST | P3 §2.1.2 | -
GEN-21 | both | MUST | P3 §3.2, P3 §5.0 | L §4.1.9
VER-01 | both | MUST | P3 §3.3 | L §4.1.7
VER-02 | both | MUST | P3 §3.3 | L §4.1.7
VER-03 | 1.0.3 | MUST | P3 §3.3 | -
VER-04 | 2.0 | MUST | - | L §4.1.7
VER-05 | 1.0.3 | MUST | P3 §3.3 | -
VER-06 | 2.0 | MUST | - | L §4.1.7
VER-07 | 1.0.3 | MUST | P3 §3.3 | -
VER-08 | 2.0 | MUST | - | L §4.1.7
VER-09 | both | MUST | P3 §3.3 | Δ g4
VER-10 | both | MUST | P3 §3.3 | L §4.1.7
VER-11 | both | MUST NOT | P3 §2.8 | L §4.1.6.7
VER-12 | 1.0.3 | MUST NOT / MAY | P3 §3.3, P3 App. A | -
AUTH-01 | 1.0.3 | MUST | P3 §4.0 | -
AUTH-02 | 2.0 | — | - | L §4.1.8, Δ c1
AUTH-03 | both | MUST | P3 §4.0 | L §4.1.8
AUTH-04 | both | MUST | P3 §3.2 | L §4.1.5
AUTH-05 | both | MAY | P3 §4.1 | -
AUTH-06 | 1.0.3 | MUST | P3 §2.0, P3 §4.1, P3 §4.2 | -
AUTH-07 | 1.0.3 | SHOULD | P3 §4.1 | -
AUTH-08 | 1.0.3 | MUST | P3 §4.2 | -
AUTH-09 | 1.0.3 | SHOULD NOT | P3 §4.2 | -
AUTH-10 | both | MUST | P2 §2.4.9 | L §4.2.4.2
AUTH-11 | both | SHOULD / MAY | P2 §2.4.9 | L §4.2.4.2
AUTH-12 | 2.0 | MUST | - | L §4.2.4.2
AUTH-13 | 1.0.3 | MUST | P2 §2.4.9 | -
AUTH-14 | 1.0.3 | MUST | P2 §2.4.9 | -
AUTH-15 | 1.0.3 | MUST | P2 §2.4.9 | -
AUTH-16 | 1.0.3 | SHOULD / MUST | P3 §4.1 | -
AUTH-17 | both | SHOULD | P2 §2.3.2 | L §4.2.4.1
ERR-01 | both | MUST | P3 §3.2 | L §4.1.5
ERR-02 | both | SHOULD | P3 §3.2 | L §4.1.5
ERR-03 | both | SHOULD | P3 §3.2 | L §4.1.5
ERR-04 | both | MUST | P3 §3.2 | L §4.1.5
ERR-05 | both | MUST | P3 §3.2 | L §4.1.5
ERR-06 | both | MUST / MAY | P3 §3.2, P3 §1.5.2 | L §4.1.5
ERR-07 | both | MUST / MAY | P3 §3.2 | L §4.1.5
ERR-08 | 1.0.3 | MUST | P3 §3.2 | Δ s56
ERR-09 | 1.0.3 | SHOULD* | P3 §3.2 | -
ERR-10 | both | MUST | P3 §3.2 | L §4.1.5
STPUT-01 | both | MUST | P3 §2.1.1 | L §4.1.6.1
STPUT-02 | both | MUST | P3 §2.1.1 | L §4.1.6.1
STPUT-03 | both | MUST | P3 §2.1.1 | -
STPUT-04 | both | MUST NOT | P3 §2.1.1 | L §4.1.6.1
STPUT-05 | both | SHOULD | P3 §2.1.1 | L §4.1.6.1
STPUT-06 | both | MAY | P3 §2.1.1 | L §4.1.6.1
STPUT-07 | both | MUST | P3 §2.1.3 | L §4.1.6.1
STPOST-01 | both | MUST | P3 §2.1.2 | L §4.1.6.1
STPOST-02 | both | MUST | P2 §2.4.1 | L §4.2.4.2
STPOST-03 | both | MUST NOT | P3 §2.1.2 | L §4.1.6.1
STPOST-04 | both | SHOULD | P3 §2.1.2 | L §4.1.6.1
STPOST-05 | both | 1.0.3 SHOULD*; 2.0 MUST | P3 §2.1.2 | L §4.1.6.1, Δ s36, Δ s37
STPOST-06 | both | MAY | P3 §2.1.2 | L §4.1.6.1
STPOST-07 | both | MUST | P3 §3.2 | L §4.1.5
STGET-01 | both | MUST | P3 §2.1.3 | L §4.1.6.1
STGET-02 | both | MUST | P3 §2.1.3, P3 §2.1.4 | L §4.1.6.1
STGET-03 | both | MUST NOT | P3 §2.1.4 | L §4.1.6.1
STGET-04 | both | MUST | P3 §2.1.3 | L §4.1.6.1
STGET-05 | both | MUST | P3 §2.1.3 | L §4.1.6.1
STGET-06 | both | MUST | P3 §2.1.3, P2 §2.5 | L §4.1.6.1
STGET-07 | both | MUST | P3 §2.1.3 | L §4.1.6.1
STGET-08 | both | MUST | P3 §2.1.3 | L §4.1.6.1
STGET-09 | both | MAY | P2 §2.4.2.3 | L §4.2.2.1
STGET-10 | both | MUST | P3 §2.1.3 | L §4.1.6.1
STGET-11 | both | MUST | P3 §2.1.3 | L §4.1.6.1
STGET-12 | both | MUST | P3 §2.1.3 | L §4.1.6.1
STGET-13 | both | MUST | P3 §2.1.3 | L §4.1.6.1
STGET-14 | both | MUST | P3 §2.1.3 | L §4.1.6.1
STGET-15 | both | MUST | P3 §2.1.3 | L §4.1.6.1
STGET-16 | both | MUST | P3 §2.1.3 | L §4.1.6.1
STGET-17 | both | MUST | P3 §2.1.3 | L §4.1.6.1
STGET-18 | both | MUST | P3 §2.1.3, P2 §2.4.3 | L §4.1.6.1
STGET-19 | both | MUST / 1.0.3 SHOULD* | P3 §2.1.3, P2 §2.4.3 | Δ s5
STGET-20 | both | MUST | P3 §2.1.3 | L §4.1.6.1
STGET-21 | both | MUST | P3 §2.1.3 | L §4.1.6.1
STGET-22 | both | MUST | P3 §2.1.3 | L §4.1.6.1
STGET-23 | both | MAY / 1.0.3 SHOULD*; 2.0 MUST | P3 §2.1.3 | L §4.1.6.1, Δ s6–s8
STGET-24 | both | MUST | P3 §2.1.3 | L §4.1.6.1
STGET-25 | both | MUST NOT / MUST | P3 §2.1.3 | L §4.1.6.1
STGET-26 | both | MUST | P3 §2.1.3 | L §4.1.6.1
STGET-27 | both | SHOULD | P3 §2.1.3 | L §4.1.6.1
STGET-28 | both | 1.0.3 SHOULD*; 2.0 MUST | P3 §2.1.3 | L §4.1.6.1, Δ s38
STGET-29 | both | MAY | P3 §2.1.3 | L §4.1.6.1
STGET-30 | both | MUST | P3 §2.1.3 | L §4.1.6.1
STGET-31 | both | MUST | P3 §2.1.4 | L §4.1.6.1
STGET-32 | both | MUST | P2 §2.5 | -
STGET-33 | 1.0.3 | MUST | P2 §2.5 | -
STGET-34 | both | MAY / SHOULD NOT | P2 §2.5 | L §4.2.4.3
STGET-35 | both | MAY | P2 §2.5 | L §4.2.4.3
STGET-36 | both | MUST | P2 §2.4.6.2, P2 §2.4.10 | L §4.2.4.2
STGET-37 | both | MUST | P3 §1.1 | -
ATT-01 | both | MUST | P3 §1.5.2 | L §4.1.3
ATT-02 | both | MUST | P3 §1.5.2 | L §4.1.3
ATT-03 | both | MUST | P3 §1.5.2 | L §4.1.3
ATT-04 | both | MUST | P3 §1.5.2 | L §4.1.3
ATT-05 | both | SHOULD | P3 §1.5.2 | L §4.1.3
ATT-06 | both | 1.0.3 SHOULD*; 2.0 MUST | P3 §1.5.2 | L §4.1.3, Δ s34, Δ s35
ATT-07 | both | MUST | P3 §1.5.2 | L §4.1.3
ATT-08 | both | MUST / SHOULD | P3 §1.5.2 | L §4.1.3
ATT-09 | both | — | P3 §1.5.2 | L §4.1.3
ATT-10 | 1.0.3 | MUST NOT | P3 §1.5.2 | -
ATT-11 | both | MUST | P2 §2.4.11 | L §4.2.2.6
ATT-12 | both | MAY | P3 §1.5.2 | L §4.1.5
SIG-01 | both | MUST | P2 §2.6 | L §4.2.6
SIG-02 | both | SHOULD | P2 §2.6 | L §4.2.6
SIG-03 | both | MUST | P2 §2.6 | L §4.2.6
SIG-04 | both | MUST | P2 §2.6 | L §4.2.6
SIG-05 | both | MUST | P2 §2.6 | L §4.2.6
SIG-06 | both | MUST | P2 §2.6 | L §4.2.6
SIG-07 | both | MUST | P2 §2.6 | L §4.2.6
SIG-08 | both | 1.0.3 SHOULD*; 2.0 MUST | P2 §2.6 | L §4.2.6, Δ s13
SV-01 | both | MUST | P2 §2.2 | L §4.2.1, L §4.2.2
SV-02 | both | MUST | P2 §2.2 | L §4.2.1
SV-03 | both | MUST | P2 §2.2 | L §4.2.1
SV-04 | both | MUST | P2 §2.2 | L §4.2.1
SV-05 | both | MUST | P2 §2.2 | L §4.2.1
SV-06 | both | MUST | P2 §2.2 | L §4.2.1, Δ s3
SV-07 | both | MUST | P2 §2.2 | L §4.2.1
SV-08 | 2.0 | MUST | P2 §2.2 | L §4.2.1
SV-09 | 2.0 | MUST | P2 §2.2 | L §4.2.1, L §4.2.4.1
SV-10 | both | MUST | P2 §2.2 | L §4.2.4.2
SV-11 | both | SHOULD | P2 §2.2 | -
SV-12 | both | MUST NOT | P2 §2.2 | L §4.2.4.1
SV-13 | 2.0 | SHOULD NOT / MAY | - | L §4.2.4.1
SV-14 | both | MUST | P2 §2.4 | L §4.2.2
SA-01 | both | MUST | P2 §2.4.2.1 | L §4.2.2.1, L §4.2.4.2
SA-02 | both | MUST | P2 §2.4.2.1 | L §4.2.2.1
SA-03 | both | MUST | P2 §2.4.2.3 | L §4.2.2.1
SA-04 | both | MUST | P2 §2.4.2.3 | L §4.2.2.1
SA-05 | both | MUST | P2 §2.4.2.3 | L §4.2.2.1
SA-06 | both | MUST | P2 §2.4.2.4 | L §4.2.2.1
SA-07 | both | MUST | P2 §2.4.2.2 | L §4.2.2.1
SA-08 | both | MUST | P2 §2.4.2.2 | L §4.2.2.1
SA-09 | both | MUST | P2 §2.4.2.2 | L §4.2.2.1
SA-10 | both | MUST | P2 §2.4.2.2 | L §4.2.4.2
SA-11 | both | MAY | P2 §2.4.2.2 | L §4.2
SA-12 | both | — | P2 §2.3.1, P2 §2.4.2.3 | -
SVB-01 | both | MUST | P2 §2.4.3 | L §4.2.2.2
SVB-02 | both | MUST | P2 §2.4.3 | L §4.1.6.1
SVB-03 | both | MAY | P2 §2.4.3 | -
SVB-04 | both | — | P2 §2.3.2 | L §4.2.5
SO-01 | both | MUST | P2 §2.4.4 | L §4.2.2.3
SO-02 | both | MUST | P2 §2.4.4.1 | L §4.2.2.3
SO-03 | both | MUST | P2 §2.4.4.1 | L §4.2.2.3
SO-04 | both | MUST | P2 §2.4.4.1 | L §4.2.4.2
SO-05 | both | MUST | P2 §2.4.4.1 | L §4.2.2.3
SO-06 | 1.0.3 | MUST | P2 §2.4.4.1 | L §4.2.4.2
SO-07 | both | MAY | P2 §2.4.4.1 | L §4.2.4.2
SO-08 | 1.0.3 | SHOULD* NOT | P2 §2.4.4.1 | Δ s9, Δ s10
SO-09 | both | — | P2 §2.4.4.1 | L §4.2.2.3
SO-10 | both | MUST NOT | P2 §2.4.4.1 | -
SO-11 | both | MUST | P2 §2.4.4.2 | L §4.2.2.3
SO-12 | both | MUST | P2 §2.4.4.3 | L §4.2.2.3
SO-13 | both | MUST | P2 §2.4.4.3 | L §4.2.2.3
SO-14 | both | MUST | P2 §2.4.4.3 | L §4.2.2.3
SO-15 | both | MUST | P2 §2.4.4.3 | L §4.2.4.2
SO-16 | both | — | P2 §2.4.7 | -
SR-01 | both | MUST | P2 §2.4.5 | L §4.2.2.4
SR-02 | both | MUST | P2 §2.4.5.1 | L §4.2.2.4
SR-03 | both | MUST | P2 §2.4.5.1 | L §4.2.2.4
SR-04 | both | MUST | P2 §4.6 | L §4.2.7
SR-05 | both | 1.0.3 SHOULD* NOT; 2.0 MUST NOT | P2 §4.6 | L §4.2.7, Δ s23
SR-06 | both | 1.0.3 SHOULD*; 2.0 MUST | P2 §4.6 | L §4.2.7, Δ s24, Δ s25
SC-01 | both | MUST | P2 §2.4.6 | L §4.2.2.5
SC-02 | 1.0.3 | MUST | P2 §2.4.6 | -
SC-03 | both | MUST | P2 §2.4.6.2 | L §4.2.2.5
SC-04 | both | MUST | P2 §2.4.6.2 | L §4.2.2.5
SC-05 | both | MUST | P2 §2.4.6.2 | L §4.2.4.2
SC-06 | 2.0 | MUST | - | L §4.2.2.5, Δ x1
SC-07 | 2.0 | MUST | - | L §4.2.2.5, Δ x2
SC-08 | 2.0 | — | - | L §4.2.2.5, Δ x1, Δ x2
SC-09 | 1.0.3 | MUST | P2 §2.4.6 | -
SP-01 | both | MUST | P2 §2.4.1, P2 §4.4 | L §4.2.4.2
SP-02 | both | MUST / SHOULD | P2 §2.4.8 | L §4.2.4.2
SP-03 | both | SHOULD | P2 §2.4.8 | -
SP-04 | both | 1.0.3 SHOULD*; 2.0 MUST | P2 §2.4.7 | L §4.2.4.2, Δ s11
SP-05 | both | 1.0.3 SHOULD* NOT; 2.0 MUST NOT | P2 §2.4.7 | L §4.2.4.1, Δ s12
SP-06 | 1.0.3 | MUST | P2 §2.4.10 | -
SP-07 | both | MUST | P2 §2.4.10 | L §4.2.4.3
SP-08 | 2.0 | SHOULD NOT | - | L §4.2.4.2
SP-09 | both | — | P2 §2.4.9 | L §4.2.4.2
DT-01 | both | MUST | P2 §2.4.1, P2 §4.4 | L §4.2.7
DT-02 | both | MUST | P2 §4.5 | L §4.2.7, Δ s19
DT-03 | both | MUST | P2 §4.5 | L §4.2.7
DT-04 | both | MAY / 1.0.3 SHOULD*; 2.0 MUST | P2 §4.5 | L §4.2.7, Δ s20–s22
DT-05 | both | 1.0.3 SHOULD*; 2.0 MUST | P2 §3.1 | L §4.2.7, Δ s17
DT-06 | 1.0.3 | SHOULD* | P2 §3.1 | Δ s18
DT-07 | both | MAY | P2 §2.2 | L §4.2.4.1
DT-08 | both | MUST | P2 §2.2, P2 §4.2 | L §4.2.7
DT-09 | both | MUST | P2 §4.1 | L §4.2.7
DT-10 | both | MUST NOT | P2 §4.1 | L §4.2.7
IMM-01 | both | MUST NOT | P2 §2.2, P2 §2.3.1 | L §4.2, L §4.2.4.2
IMM-02 | both | MUST | P2 §2.3.1 | L §4.2
IMM-03 | 1.0.3 | MUST NOT | P2 §2.3.1 | -
IMM-04 | both | MUST | P2 §2.3.2 | L §4.2.5
IMM-05 | both | MUST | P2 §2.3.2 | L §4.2.5
IMM-06 | both | — | P2 §2.3.2 | L §4.2.5
IMM-07 | both | 1.0.3 SHOULD NOT*; 2.0 MUST NOT | P2 §2.3.2 | L §4.2.4.1, Δ s58
IMM-08 | both | MAY | P2 §2.3.2 | L §4.2.5
IMM-09 | both | — | P2 §2.3 | L §4.2.4
DOC-01 | both | MUST | P3 §1.5, P3 §2.2 | L §4.1.3, L §4.1.6
DOC-02 | both | MUST NOT | P3 §2.2 | L §4.1.6
DOC-03 | both | MUST | P3 §3.1 | L §4.1.4
DOC-04 | 1.0.3 | MUST | P3 §3.1 | Δ s54
DOC-05 | both | MUST | P3 §3.1 | L §4.1.4
DOC-06 | both | MUST | P3 §3.1 | L §4.1.1, L §4.1.4
DOC-07 | both | 1.0.3 SHOULD*; 2.0 MUST | P3 §3.1 | L §4.1.4, Δ s50–s52
DOC-08 | both | MUST | P3 §3.1 | L §4.1.4
DOC-09 | both | MUST | P3 §2.3, P3 §2.6, P3 §2.7 | L §4.1.6.2, L §4.1.6.3, L §4.1.6.4, L §4.1.6.5, L §4.1.6.6
DOC-10 | both | MUST | P3 §2.2 | L §4.1.6.2, L §4.1.6.5, L §4.1.6.6
DOC-11 | both | MUST | P3 §2.2 | L §4.1.6.2, L §4.1.6.5, L §4.1.6.6
DOC-12 | both | MUST | P3 §2.3 | L §4.1.6.2
DOC-13 | both | MUST | P3 §2.3, P3 §2.6, P3 §2.7 | L §4.1.6.2, L §4.1.6.3, L §4.1.6.4, L §4.1.6.5, L §4.1.6.6
DOC-14 | both | MUST | P3 §3.2 | L §4.1.5
DOC-15 | both | 1.0.3 SHOULD*; 2.0 MUST | P3 §2.2 | L §4.1.6.2, L §4.1.6.5, L §4.1.6.6, Δ s39–s41
DOC-16 | 1.0.3 | SHOULD* | P3 §2.2 | Δ s42
DOC-17 | both | MUST | P3 §2.3, P3 §2.6, P3 §2.7 | L §4.1.6.2, L §4.1.6.5, L §4.1.6.6
DOC-18 | both | MUST | P3 §2.3, P3 §2.6 | L §4.1.6
DOC-19 | both | SHOULD | P3 §2.2 | -
STATE-01 | both | MUST | P3 §2.3 | L §4.1.6.2
STATE-02 | both | MUST | P3 §2.3 | L §4.1.6.2
STATE-03 | both | MUST | P3 §2.3 | L §4.1.6.2
STATE-04 | 2.0 | MUST | - | L §4.1.6.2
STATE-05 | both | MUST | P3 §2.3 | L §4.1.6.2
STATE-06 | both | — | P3 §2.3 | L §4.1.6.2
STATE-07 | 1.0.3 | — | P3 §3.1 | -
APROF-01 | both | MUST | P3 §2.7 | L §4.1.6.6
APROF-02 | both | MUST | P3 §2.7 | L §4.1.6.6
APROF-03 | both | MUST | P3 §3.1 | L §4.1.4
APROF-04 | both | MUST | P3 §2.2 | L §4.1.6.6
AGPROF-01 | both | MUST | P3 §2.6 | L §4.1.6.5
AGPROF-02 | both | MUST | P3 §2.6 | L §4.1.6.5
AGPROF-03 | both | MUST | P3 §3.1, P3 §2.2 | L §4.1.4, L §4.1.6.5
AGPROF-04 | both | — | P3 §2.6 | -
ACT-01 | both | MUST | P3 §2.5 | L §4.1.6.4
ACT-02 | both | 1.0.3 SHOULD*; 2.0 MUST | P3 §2.5 | L §4.1.6.4, Δ s43
ACT-03 | both | SHOULD | P2 §2.4.4.1 | L §4.2.4.3
ACT-04 | both | MAY / SHOULD NOT | P2 §2.4.4.1 | L §4.2.4.3
AGT-01 | both | MUST | P3 §2.4 | L §4.1.6.3
AGT-02 | both | MUST | P3 §2.4 | L §4.1.6.3
AGT-03 | both | MUST | P3 §2.4 | L §4.1.6.3
AGT-04 | 1.0.3 | MUST / SHOULD* | P3 §2.4 | Δ s4
AGT-05 | 1.0.3 | SHOULD | P3 §2.4 | -
ABOUT-01 | both | MUST | P3 §2.8 | L §4.1.6.7
ABOUT-02 | both | MUST | P3 §2.8 | L §4.1.6.7
ABOUT-03 | 1.0.3 | MUST | P3 §2.8 | -
ABOUT-04 | both | MUST | P3 §2.8 | L §4.1.6.7
ABOUT-05 | 1.0.3 | SHOULD | P3 §2.8 | -
ABOUT-06 | both | MUST NOT | P3 §2.8 | L §4.1.6.7
META-01 | both | MAY | P2 §3.2 | L §4.2.3
META-02 | both | SHOULD | P2 §3.2 | L §4.2.3.1
META-03 | both | SHOULD / MAY | P2 §3.2 | L §4.2.3.1
V20-01 | 2.0 | — | - | L §4.1.7, L §4.2.4.3
V20-02 | 2.0 | — | - | L §4.2.2.5, L §4.1.6.1, Δ x1, Δ x2
V20-03 | 2.0 | — | - | L §4.1.8, Δ c1, Δ s57
V20-04 | 2.0 | — | - | Δ s26–s33
V20-05 | 2.0 | — | - | Δ s54
V20-06 | 2.0 | — | - | Δ s11–s14, Δ s17, Δ s22–s25, Δ s34–s38, Δ s43, Δ s50, Δ s52, Δ s58
V20-07 | 2.0 | — | - | L §4.2.1, Δ s3
V20-08 | 2.0 | — | - | Δ s4–s6, Δ s9, Δ s10, Δ s42, Δ s51, Δ s55, Δ s56
V20-09 | 2.0 | — | - | Δ s7, Δ s8
V20-10 | 2.0 | — | - | L §4.2.1, L §4.2.7, L §4.1.6.2, L §4.2.4.1
V20-11 | 2.0 | — | - | Δ g1, Δ g2
"""


@dataclass(frozen=True)
class Requirement:
    id: str
    versions: str  # both, 1.0.3 or 2.0
    level: str  # MUST, SHOULD, ... as in the checklist
    spec_1_0_3: tuple[str, ...]  # e.g. ("P3 §2.1.1",)
    spec_2_0: tuple[str, ...]  # e.g. ("L §4.1.6.1",)

    @property
    def resource(self) -> str:
        return RESOURCES[self.id.split("-")[0]]

    def must(self, version: str | None = None) -> bool:
        """Whether the checklist makes it a MUST (or MUST NOT) in `version`
        ("1.0.3", "2.0.0"; None: in either). Split levels name the version
        they hold in: "1.0.3 SHOULD*; 2.0 MUST" is a MUST in 2.0 only."""
        level = self.level
        if version:
            other = r"2\.0 " if version.startswith("1.") else r"1\.0\.3 "
            level = re.sub(other + r"[A-Z* ]+", "", level)
        return "MUST" in level


def _refs(cell: str) -> tuple[str, ...]:
    return () if cell == "-" else tuple(ref.strip() for ref in cell.split(","))


def _load() -> dict[str, Requirement]:
    out = {}
    for line in _TABLE.strip().splitlines():
        rid, versions, level, v1, v2 = (cell.strip() for cell in line.split("|"))
        out[rid] = Requirement(rid, versions, level, _refs(v1), _refs(v2))
    return out


REQUIREMENTS = _load()


def cite(refs: tuple[str, ...]) -> str:
    """("P3 §2.1.3", "P3 §2.1.4") ->
    "1.0.3 Part Three §2.1.3 GET Statements, §2.1.4 Voided Statements"."""
    books: dict[str, list[str]] = {}
    for ref in refs:
        book, _, section = ref.partition(" ")
        books.setdefault(book, []).append(f"{section} {SECTIONS[ref]}" if ref in SECTIONS else section)
    return "; ".join(f"{_BOOKS[book]} {', '.join(parts)}" for book, parts in books.items())


def _number(token: str) -> bool:
    return len(token) == 2 and token.isdigit()


def ids_of(test_name: str, param_id: str = "") -> list[str]:
    """The requirement ids a test names, known or not, in order of appearance.

    The name leads with groups and their numbers (`test_imm_05_06_stget_02_...`:
    IMM-05, IMM-06, STGET-02) up to the first other word. Parameter ids of the
    form `sv01_missing_actor` add theirs (SV-01)."""
    ids: list[str] = []
    tokens = test_name.removeprefix("test_").split("_")
    group = ""
    for token, after in zip(tokens, [*tokens[1:], ""]):
        if token.upper() in RESOURCES and _number(after):
            group = token.upper()
        elif group and _number(token):
            ids.append(f"{group}-{token}")
        else:
            break
    for part in param_id.split("-"):
        m = re.match(r"([a-z]+\d*?)(\d\d)_", part)
        if m and m.group(1).upper() in RESOURCES:
            ids.append(f"{m.group(1).upper()}-{m.group(2)}")
    return list(dict.fromkeys(ids))
