# loses: test_q3, test_q5
answer_q1 = "b"
answer_q2 = 256
answer_q3 = "c"
answer_q4 = 393216
answer_q5 = "d"
