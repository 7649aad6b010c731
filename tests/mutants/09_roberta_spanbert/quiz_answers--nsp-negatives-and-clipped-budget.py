# loses: test_q2, test_q3, test_q4, test_q6, test_q7
answer_q1 = "c"
answer_q2 = 10
answer_q3 = "a"
answer_q4 = 38
answer_q5 = "b"
answer_q6 = 50000
answer_q7 = "c"
answer_q8 = 16
