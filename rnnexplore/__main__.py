from rnnexplore.cli import main

raise SystemExit(main())
