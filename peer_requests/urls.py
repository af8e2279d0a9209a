app_name = "peer_requests"

urlpatterns: list = []
