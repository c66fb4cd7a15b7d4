from harness.issuer.server import main

main()
