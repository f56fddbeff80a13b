from fleet_frontdoor.authserver.app import main

main()
