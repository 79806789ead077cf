#!/bin/bash
cat /proc/cgroups | grep memory
cd /sys/fs/cgroup/memory
echo 1 > memory.move_charge_at_immigrate
for i in range{1..500}
do
    mkdir kmem_test
    echo $$ > kmem_test/cgroup.procs
    sleep 3600 &
    echo $$ > cgroup.procs
    echo `cat kmem_test/cgroup.procs` > cgroup.procs
    rmdir kmem_test
done
cat /proc/cgroups | grep memory
