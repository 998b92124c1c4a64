// gc_pressure fault: attach to a broker JVM once and ask it for a collection every INTERVAL_MS
// (the same GC.run that `jcmd <pid> GC.run` sends), for DURATION_S seconds or until killed.
// One attached JVM instead of a jcmd launch per collection keeps the injector's own CPU small
// on a 2-core machine, so what moves in the broker's GC metrics is the broker's work.
// Run: java --add-exports jdk.attach/sun.tools.attach=ALL-UNNAMED GcPressure.java PID INTERVAL_MS DURATION_S
import com.sun.tools.attach.VirtualMachine;
import java.io.InputStream;
import sun.tools.attach.HotSpotVirtualMachine;

public class GcPressure {
    public static void main(String[] args) throws Exception {
        String pid = args[0];
        long intervalMs = Long.parseLong(args[1]);
        long endAt = System.currentTimeMillis() + Long.parseLong(args[2]) * 1000L;
        HotSpotVirtualMachine vm = (HotSpotVirtualMachine) VirtualMachine.attach(pid);
        int runs = 0;
        try {
            while (System.currentTimeMillis() < endAt) {
                try (InputStream in = vm.executeJCmd("GC.run")) {
                    in.readAllBytes();
                }
                runs++;
                if (runs == 1) {
                    System.out.println("first GC.run done");
                }
                if (runs % 50 == 0) {
                    System.out.println("GC.run x" + runs);
                }
                Thread.sleep(intervalMs);
            }
        } finally {
            vm.detach();
            System.out.println("GC.run total " + runs);
        }
    }
}
