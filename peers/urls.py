app_name = "peers"

urlpatterns: list = []
