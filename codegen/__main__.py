from connlog.codegen.cli import main

raise SystemExit(main())
