from bmdsim.cli import main

main()
