"""A HubSpot contacts export as the CSV import meets it (issue 15 item 2): 15 columns, HubSpot's
own Lead Status values and its "Create Date" format."""

from __future__ import annotations

HEADERS = [
    "Record ID", "First Name", "Last Name", "Email", "Phone Number", "Company Name",
    "Lead Status", "Create Date", "Lifecycle Stage", "Contact owner", "Job Title", "City",
    "Country/Region", "Website URL", "Last Activity Date",
]  # fmt: skip
# (first name, email, lead status, create date)
PEOPLE = [
    ("Ann", "ann@acme.com", "New", "2024-03-01 14:05"),
    ("Ben", "ben@acme.com", "Open", "2024-03-04 09:30"),
    ("Cho", "cho@acme.com", "In Progress", "2024-03-05 10:00"),
    ("Dee", "dee@acme.com", "Open Deal", "2024-03-11 16:45"),
    ("Eve", "eve@acme.com", "Unqualified", "2024-03-12 08:00"),
    ("Fox", "fox@acme.com", "Attempted to contact", "2024-03-18 11:11"),
    ("Gus", "gus@acme.com", "Connected", "2024-03-19 12:00"),
    ("Hal", "hal@acme.com", "Bad Timing", "2024-03-25 17:20"),
    ("Ivy", "ivy@acme.com", "VIP follow-up", "2024-04-02 09:00"),
    ("Jon", "jon@acme.com", "VIP follow-up", "2024-04-03 09:00"),
    ("Kim", "kim@acme", "open", "2024-04-08 10:00"),
    ("Lee", "lee@acme.com", "in progress", "2024-04-09 10:00"),
]


def hubspot_csv(people=PEOPLE) -> str:
    lines = [",".join(HEADERS)]
    for i, (first, email, status, created) in enumerate(people):
        lines.append(
            ",".join(
                [str(1000 + i), first, "Smith", email, f"+1 415 555 01{i:02d}", "Acme Inc",
                 status, created, "lead", "Sam Owner", "Head of Operations", "San Francisco",
                 "United States", "https://www.acme.com", "2024-05-01 10:00"]
            )
        )  # fmt: skip
    return "\n".join(lines) + "\n"
