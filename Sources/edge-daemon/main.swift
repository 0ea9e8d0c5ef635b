import CEdgeShim
import DaemonCore
import EdgeRuntime

exit(runMain(processArguments()).rawValue)
