import CEdgeShim
import DaemonCore
import EdgeRuntime

// The engine's FrameProcessorFactory is not linked in yet: `run` reports that and exits 65.
exit(runMain(processArguments(), components: DaemonComponents(processorFactory: nil, sinkFactory: BusSinkFactory())).rawValue)
