import csv
import io

import pytest
from django.urls import reverse
from freezegun import freeze_time

from peer_requests.models import RequestStatus
from tests.accounts.factories import StaffUserFactory, UserFactory
from tests.agencies.factories import AgencyMembershipFactory
from tests.locations.factories import LocationMembershipFactory
from tests.reporting.conftest import MINUTE, local
from tests.reporting.factories import ReportAlertFactory, ReportRequestFactory, filled_request

MARCH = "start=2026-03-01&end=2026-03-31"
PAGES = ["reporting:staff", "reporting:agency", "reporting:location"]
REPORTS = [
    "summary",
    "requests",
    "locations",
    "needs",
    "characteristics",
    "responses",
    "declines",
    "staffing",
]


def read_csv(response) -> list[list[str]]:
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode())))


@pytest.fixture
def staff_client(client, db):
    client.force_login(StaffUserFactory())
    return client


@pytest.fixture
def agency_b_client(client, world):
    client.force_login(AgencyMembershipFactory(agency=world.agency_b).user)
    return client


@pytest.fixture
def hudson_client(client, world):
    client.force_login(LocationMembershipFactory(location=world.hudson).user)
    return client


class TestPermissions:
    @pytest.mark.parametrize("page", [*PAGES, "reporting:index"])
    def test_it_sends_anonymous_users_to_login(self, client, db, page):
        response = client.get(reverse(page))
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))

    @pytest.mark.parametrize(
        ("make_user", "allowed"),
        [
            (lambda: StaffUserFactory(), "reporting:staff"),
            (lambda: AgencyMembershipFactory().user, "reporting:agency"),
            (lambda: LocationMembershipFactory().user, "reporting:location"),
        ],
        ids=["staff", "agency", "location"],
    )
    def test_each_role_opens_its_own_page_only(self, client, db, make_user, allowed):
        client.force_login(make_user())
        for page in PAGES:
            assert client.get(reverse(page)).status_code == (200 if page == allowed else 403)
        assert client.get(reverse("reporting:index")).url == reverse(allowed)

    def test_a_user_without_an_organisation_is_refused(self, client, db):
        client.force_login(UserFactory())
        assert client.get(reverse("reporting:index")).status_code == 403


class TestStaffReports:
    def test_it_shows_every_report_with_charts(self, staff_client, world):
        response = staff_client.get(f"{reverse('reporting:staff')}?{MARCH}")
        assert response.status_code == 200
        page = response.content.decode()
        for title in (
            "Requests per day",
            "Requests per location",
            "Requests by need",
            "Characteristics requested",
            "Peer response per agency",
            "Competing priorities",
            "Staffing against need",
        ):
            assert title in page
        assert page.count("<svg") == 4  # bars per day, demand, peers and fill-rate heat maps
        assert 'role="img"' in page and "<desc" in page
        assert "5 requests placed from Mar 1, 2026 to Mar 31, 2026" in page
        assert "Busiest hour:" in page
        for report in REPORTS:
            assert f"report={report}" in page
        assert "Alpha Peers" in page and "Beta Peers" in page
        assert "60.0 %" in page  # fill rate
        assert "15 min" in page and "31 min" in page  # median and p90 time to assignment

    def test_it_filters_by_agency_as_that_agency_sees_it(self, staff_client, world):
        response = staff_client.get(f"{reverse('reporting:staff')}?{MARCH}&agency={world.agency_b.id}")
        page = response.content.decode()
        assert "Filled by your peers" in page
        assert "Alpha Peers" not in page.split("Peer response per agency", 1)[1]

    def test_it_links_from_the_staff_nav_and_the_admin_index(self, staff_client):
        assert reverse("reporting:staff") in staff_client.get(reverse("staff:home")).content.decode()
        assert reverse("reporting:staff") in staff_client.get(reverse("admin:index")).content.decode()

    @freeze_time("2026-03-31 03:00:00")  # still March 30 in New York
    def test_it_opens_on_the_last_30_days_in_its_zone(self, staff_client, world):
        page = staff_client.get(reverse("reporting:staff")).content.decode()
        assert 'value="2026-03-01"' in page and 'value="2026-03-30"' in page
        assert "4 requests placed from Mar 1, 2026 to Mar 30, 2026" in page


class TestFilterErrors:
    def test_it_explains_an_end_before_the_start(self, staff_client):
        response = staff_client.get(f"{reverse('reporting:staff')}?start=2026-03-10&end=2026-03-01")
        assert response.status_code == 200
        page = response.content.decode()
        assert "The end date is before the start date." in page
        assert "<svg" not in page

    def test_it_refuses_more_than_400_days(self, staff_client):
        response = staff_client.get(f"{reverse('reporting:staff')}?start=2025-01-01&end=2026-02-05")
        assert "The range covers 401 days; choose 400 days or fewer." in response.content.decode()

    def test_it_accepts_400_days(self, staff_client):
        response = staff_client.get(f"{reverse('reporting:staff')}?start=2025-01-01&end=2026-02-04")
        assert "<svg" in response.content.decode()

    def test_it_explains_a_date_it_cannot_read(self, staff_client):
        response = staff_client.get(f"{reverse('reporting:staff')}?start=yesterday")
        assert "Enter a valid date." in response.content.decode()

    def test_a_csv_with_bad_dates_is_a_bad_request(self, staff_client):
        url = f"{reverse('reporting:staff')}?start=2026-03-10&end=2026-03-01&format=csv&report=summary"
        response = staff_client.get(url)
        assert response.status_code == 400
        assert "The end date is before the start date." in response.content.decode()


class TestCsv:
    @pytest.mark.parametrize("report", REPORTS)
    def test_it_downloads_every_table(self, staff_client, world, report):
        response = staff_client.get(f"{reverse('reporting:staff')}?{MARCH}&format=csv&report={report}")
        assert response.status_code == 200
        assert f'filename="peerrx-{report}-2026-03-01-2026-03-31.csv"' in response["Content-Disposition"]
        assert len(read_csv(response)) > 1

    def test_it_keeps_figures_raw(self, staff_client, world):
        rows = read_csv(staff_client.get(f"{reverse('reporting:staff')}?{MARCH}&format=csv&report=responses"))
        assert rows == [
            [
                "Agency",
                "Alerts sent",
                "Delivered",
                "YES",
                "NO",
                "No reply",
                "Response rate (fraction)",
                "Median time to reply (seconds)",
            ],
            ["Alpha Peers", "7", "6", "2", "2", "3", "0.5714", "120.0"],
            ["Beta Peers", "3", "2", "1", "1", "1", "0.6667", "60.0"],
        ]

    def test_it_applies_the_same_filters(self, staff_client, world):
        url = f"{reverse('reporting:staff')}?{MARCH}&location={world.hudson.id}&format=csv&report=locations"
        rows = read_csv(staff_client.get(url))
        assert [row[:3] for row in rows[1:]] == [["Hudson ED", "2", "2"]]

    def test_it_refuses_an_unknown_report(self, staff_client):
        response = staff_client.get(f"{reverse('reporting:staff')}?format=csv&report=peers")
        assert response.status_code == 404

    def test_it_defuses_spreadsheet_formulas(self, staff_client, world):
        world.hudson.name = "=HYPERLINK(1)"
        world.hudson.save(update_fields=["name"])
        rows = read_csv(staff_client.get(f"{reverse('reporting:staff')}?{MARCH}&format=csv&report=locations"))
        assert "'=HYPERLINK(1)" in [row[0] for row in rows]


class TestAgencyReports:
    def test_it_never_shows_another_agencys_peers_or_replies(self, agency_b_client, world):
        response = agency_b_client.get(f"{reverse('reporting:agency')}?{MARCH}")
        page = response.content.decode()
        assert "Reports: Beta Peers" in page
        assert "Alpha Peers" not in page
        assert "Filled by your peers" in page

    def test_its_csv_is_scoped_too(self, agency_b_client, world):
        url = f"{reverse('reporting:agency')}?{MARCH}&format=csv&report=declines"
        rows = read_csv(agency_b_client.get(url))
        assert [row[0] for row in rows[1:]] == ["Beta Peers"]

    def test_it_ignores_an_agency_in_the_query(self, agency_b_client, world):
        url = f"{reverse('reporting:agency')}?{MARCH}&agency={world.agency_a.id}&format=csv&report=responses"
        rows = read_csv(agency_b_client.get(url))
        assert [row[0] for row in rows[1:]] == ["Beta Peers"]

    def test_it_offers_only_the_locations_it_serves(self, agency_b_client, world):
        page = agency_b_client.get(reverse("reporting:agency")).content.decode()
        assert "Hudson ED" in page and "Valley Clinic" not in page

    def test_it_is_linked_from_the_agency_nav(self, agency_b_client):
        assert reverse("reporting:agency") in agency_b_client.get(reverse("agencies:home")).content.decode()


class TestLocationSummary:
    def test_it_never_shows_another_locations_requests(self, hudson_client, world):
        url = f"{reverse('reporting:location')}?{MARCH}&format=csv&report=summary"
        rows = dict(read_csv(hudson_client.get(url))[1:])
        assert rows["Requests placed"] == "2"
        assert rows["Filled"] == "2"

    def test_it_ignores_a_location_in_the_query(self, hudson_client, world):
        url = f"{reverse('reporting:location')}?{MARCH}&location={world.valley.id}&format=csv&report=summary"
        assert dict(read_csv(hudson_client.get(url))[1:])["Requests placed"] == "2"

    def test_it_shows_no_agency_figures(self, hudson_client, world):
        page = hudson_client.get(f"{reverse('reporting:location')}?{MARCH}").content.decode()
        assert "Summary: Hudson ED" in page
        assert "Peer response per agency" not in page and "Alpha Peers" not in page
        assert "Peers available" not in page
        assert page.count("<svg") == 3  # bars per day, demand and fill-rate heat maps
        assert (
            hudson_client.get(f"{reverse('reporting:location')}?format=csv&report=responses").status_code
            == 404
        )

    def test_it_is_linked_from_the_location_nav(self, hudson_client):
        assert reverse("reporting:location") in hudson_client.get(reverse("locations:home")).content.decode()


def add_month_of_activity(world, days: int) -> None:
    """More of everything: requests every day, alerts, replies and declines."""
    for day in range(1, days + 1):
        created = local(2026, 3, day, 12)
        request = filled_request(peer=world.b1, location=world.valley, created_at=created, after=3 * MINUTE)
        ReportAlertFactory(request=request, peer=world.a1, response="no", responded_at=created + MINUTE)
        ReportAlertFactory(request=request, peer=world.a2, response="no", responded_at=created + 2 * MINUTE)
        ReportRequestFactory(location=world.hudson, created_at=created, status=RequestStatus.CANCELLED)


class TestQueryCounts:
    """Each page runs the same number of queries whatever the amount of data: two for the
    session and user, the role's own look-ups, one or two per report, and the filter choices."""

    @pytest.mark.parametrize(
        ("page", "login", "filters", "queries"),
        [
            ("reporting:staff", "staff", "", 30),
            ("reporting:staff", "staff", "&agency={agency}&location={location}&need=mental_health", 32),
            ("reporting:agency", "agency", "&location={location}&period=week", 33),
            ("reporting:location", "location", "&need=substance_use", 16),
        ],
    )
    def test_it_is_constant(self, client, world, django_assert_num_queries, page, login, filters, queries):
        user = {
            "staff": lambda: StaffUserFactory(),
            "agency": lambda: AgencyMembershipFactory(agency=world.agency_a).user,
            "location": lambda: LocationMembershipFactory(location=world.hudson).user,
        }[login]()
        client.force_login(user)
        url = f"{reverse(page)}?{MARCH}" + filters.format(agency=world.agency_a.id, location=world.hudson.id)
        with django_assert_num_queries(queries):
            assert client.get(url).status_code == 200
        add_month_of_activity(world, days=28)
        with django_assert_num_queries(queries):
            response = client.get(url)
        assert response.status_code == 200
        assert "<svg" in response.content.decode()

    def test_a_csv_runs_only_its_report(self, staff_client, world, django_assert_num_queries):
        # Session, user, then the report's four queries: the filter choices are not rendered.
        with django_assert_num_queries(6):
            staff_client.get(f"{reverse('reporting:staff')}?{MARCH}&format=csv&report=responses")


class TestBoundedDates:
    @pytest.mark.parametrize("start", ["0001-01-01", "9999-12-30", "0026-03-01", "1999-12-31"])
    def test_a_date_out_of_range_is_a_form_error_not_a_500(self, client, world, start):
        client.force_login(LocationMembershipFactory(location=world.hudson).user)
        response = client.get(f"{reverse('reporting:location')}?start={start}&end=2026-03-31")
        assert response.status_code == 200
        assert "Choose a date from Jan 1, 2000 to a year from today" in response.content.decode()
