from unimeter.cli.entry import main

main()
