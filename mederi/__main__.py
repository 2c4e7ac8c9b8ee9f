from mederi.cli import main

main()
